"""Install the fake GPU driver on a testbed and wait, bounded, until every worker published its devices.

Its image is built from the installed `fake_gpu` package (the `fake-gpu` distribution, which tox and
the dev set-up install) on Debian trixie's python3, in every image mode: there is no upstream image.
The inventory ConfigMap is rendered from the testbed spec, so the slices say what the spec says.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, cast

from fake_gpu import inventory, protos, slices
from fake_gpu.personality import DEFAULT, NVIDIA, Personality
from kubernetes import client

from harness import versions
from harness.kube.client import Clients
from harness.kube.objects import Object
from harness.kube.waits import WaitTimeout, wait_until
from harness.spec import Testbed
from harness.stack.component import diagnostics
from harness.stack.install import apply
from harness.stack.render import parse
from harness.supply import ImageSupply, Mode, debian, gobuild
from harness.supply.images import DockerImage, build_image, package_sources
from harness.supply.source import recipes
from harness.verdicts import NotApplicable

NAMESPACE = "fake-gpu"
KUBELET_PROTOS = "https://raw.githubusercontent.com/kubernetes/kubelet/{version}/{path}"
INVENTORY_CONFIGMAP = "fake-gpu-inventory"
PERSONALITY_ANNOTATION = "fake-gpu.llm-conformance.io/personality"  # the DaemonSet's containers read it

log = logging.getLogger("llmc.dra")


class Target(Protocol):
    """What the installer needs of a testbed (TestbedCluster has it)."""

    spec: Testbed
    kubeconfig: Path
    supply: ImageSupply

    def clients(self) -> Clients: ...

    def load_images(self, images: list[str]) -> None: ...


@dataclass
class DriverFigures:
    image: str
    build_seconds: float
    publish_seconds: float  # apply → every worker's slice present with all its devices


def fake_gpu_image() -> str:
    image: str = versions.pinned()["fake_gpu"]["image"]
    return image


def build_fake_gpu(mode: Mode) -> str:
    """Build (or find cached) the image; returns its content-tagged name (`<pinned>-<input key>`),
    which the DaemonSet runs: nodes cache images by tag, so a changed driver needs a new tag."""
    base = debian.base("fake-gpu-base", tuple(versions.pinned()["fake_gpu"]["debian_packages"]), mode)
    files = package_sources("fake_gpu", "pip install ./fake-gpu", ("*.py", "*.yaml"))
    files.update(kubelet_protos(mode))
    image = DockerImage((fake_gpu_image(),), recipes() / "fake-gpu", files, {"BASE": base})
    tagged = f"{fake_gpu_image()}-{image.key()[:12]}"
    return build_image(DockerImage((fake_gpu_image(), tagged), image.recipe, image.files, image.build_args))[1]


def kubelet_protos(mode: Mode) -> dict[str, Path | str]:
    """The k8s.io/kubelet .proto files the driver's messages are generated from, keyed by their path
    in the build context: from the Go module cache, or in registry mode (no Go needed) from the
    module's repository on GitHub at the same tag."""
    if mode is not Mode.REGISTRY:
        return {f"kubelet/{rel}": kubelet_module() / rel for rel in protos.SOURCES.values()}
    files: dict[str, Path | str] = {}
    for rel in protos.SOURCES.values():
        url = KUBELET_PROTOS.format(version=kubelet_version(), path=rel)
        try:
            with urllib.request.urlopen(url, timeout=60) as r:
                files[f"kubelet/{rel}"] = r.read().decode()
        except OSError as e:
            raise RuntimeError(
                f"cannot fetch {url}: {e} (offline? use image mode source: --llmc-image-mode, or --image-mode "
                "for `harness`)"
            ) from None
    return files


def node_inventories(spec: Testbed) -> list[inventory.NodeInventory]:
    return [inventory.from_spec_node(n) for n in spec.nodes if n.hardware is not None]


def _manifest(name: str, image: str, personality: Personality = DEFAULT) -> list[Object]:
    objs = parse(resources.files("fake_gpu").joinpath(f"manifests/{name}").read_text())
    for obj in objs:
        if obj["kind"] == "DaemonSet":
            template = obj["spec"]["template"]
            for c in template["spec"].get("initContainers", []) + template["spec"]["containers"]:
                c["image"] = image
            if PERSONALITY_ANNOTATION in template["metadata"].get("annotations", {}):
                template["metadata"]["annotations"][PERSONALITY_ANNOTATION] = personality.name
    return objs


def _inventory_configmap(spec: Testbed) -> Object:
    document = inventory.document(node_inventories(spec))
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": INVENTORY_CONFIGMAP, "namespace": NAMESPACE},
        "data": {"inventory.json": json.dumps(document, indent=1, sort_keys=True)},
    }


def personality_of(spec: Testbed) -> Personality:
    """The fake driver's personality for the spec's driver choice (`fake-gpu-nvidia`: NVIDIA's shape)."""
    return NVIDIA if spec.driver == "fake-gpu-nvidia" else DEFAULT


def objects(spec: Testbed, image: str, personality: Personality | None = None) -> list[Object]:
    """Everything applied, in order: the driver's manifests, its inventory and the DeviceClasses;
    the personality is the spec's unless given."""
    personality = personality or personality_of(spec)
    objs = _manifest("driver.yaml", image, personality)
    daemonset = next(i for i, o in enumerate(objs) if o["kind"] == "DaemonSet")
    classes = slices.device_classes(personality)
    return [*objs[:daemonset], _inventory_configmap(spec), *classes, *objs[daemonset:]]


def scalar_objects(spec: Testbed, image: str) -> list[Object]:
    """Scalar mode (negative controls): the namespace, the inventory and the scalar DaemonSet."""
    namespace = next(o for o in _manifest("driver.yaml", image) if o["kind"] == "Namespace")
    return [namespace, _inventory_configmap(spec), *_manifest("scalar.yaml", image)]


def published(kube: Clients, personality: Personality = DEFAULT) -> dict[str, dict[str, Any]]:
    """The driver's devices by node (its pools), then by device name, over all the pools' slices."""
    api = client.CustomObjectsApi(kube.api)
    items = cast(dict[str, Any], api.list_cluster_custom_object("resource.k8s.io", "v1", "resourceslices"))
    pools: dict[str, dict[str, Any]] = {}
    for s in items["items"]:
        if s["spec"]["driver"] in personality.drivers:
            pools.setdefault(s["spec"]["pool"]["name"], {}).update({d["name"]: d for d in s["spec"]["devices"]})
    return pools


def install_fake_gpu(target: Target, timeout: float = 180, personality: Personality | None = None) -> DriverFigures:
    """Our fake driver, in the spec's personality unless given, and every worker's devices published."""
    if getattr(target, "discovery", None) is not None:
        # An existing cluster (harness/cluster/existing.py): its nodes are the user's, with their own
        # devices and drivers. Putting a fake driver on them would be wrong, so the checks that need
        # ours are not applicable there.
        raise NotApplicable(
            "needs the harness's fake GPU driver, which is installed only on testbeds the "
            "harness creates (existing cluster: not installed on the user's nodes)"
        )
    personality = personality or personality_of(target.spec)
    started = time.monotonic()
    image = build_fake_gpu(target.supply.mode)
    target.load_images([image])
    built = time.monotonic() - started
    kube = target.clients()
    expected = {inv.node: len(inv.gpus) + len(inv.nics) for inv in node_inventories(target.spec)}
    log.info(
        "fake GPU driver %s: applying, then waiting until %d workers publish their devices (at most %.0f s)",
        image,
        len(expected),
        timeout,
    )
    apply(objects(target.spec, image, personality), target.kubeconfig)

    def all_published() -> tuple[bool, str]:
        # The rollout first: on a reused cluster the old pods' slices are already there.
        ds = kube.apps.read_namespaced_daemon_set("fake-gpu", NAMESPACE)
        st = ds.status
        want = len(expected)
        if (st.observed_generation or 0) < (ds.metadata.generation or 0) or not (
            st.desired_number_scheduled == want == (st.updated_number_scheduled or 0) == (st.number_available or 0)
        ):
            return False, (
                f"DaemonSet fake-gpu: {st.updated_number_scheduled or 0} updated, "
                f"{st.number_available or 0} available of {want} workers"
            )
        have = {node: len(devices) for node, devices in published(kube, personality).items()}
        missing = {node: f"{have.get(node, 0)}/{n} devices" for node, n in expected.items() if have.get(node) != n}
        return not missing, f"not yet published: {missing}" if missing else "all published"

    try:
        seconds = wait_until(all_published, timeout, "fake-gpu ResourceSlices on every worker", interval=1)
    except WaitTimeout as e:
        raise WaitTimeout(f"{e}\n{diagnostics(kube, NAMESPACE)}") from None
    log.info("fake GPU driver: every worker's devices published %.0f s after apply", seconds)
    return DriverFigures(image=image, build_seconds=built, publish_seconds=seconds)


def kubelet_version() -> str:
    """The k8s.io/kubelet module's version for the pinned Kubernetes (its staging version v0.Y.Z)."""
    return versions.staging_version(versions.pinned()["kubernetes"])


def kubelet_module() -> Path:
    """The k8s.io/kubelet module of the pinned Kubernetes, whose .proto files the driver's gRPC
    messages are generated from."""
    return gobuild.module_dir("k8s.io/kubelet", kubelet_version())


def driver_pods(kube: Clients, node: str) -> tuple[list[str], list[str]]:
    """The node's fake-gpu pods: (running and not being deleted, all)."""
    pods = kube.core.list_namespaced_pod(
        NAMESPACE, label_selector="app.kubernetes.io/name=fake-gpu", field_selector=f"spec.nodeName={node}"
    ).items
    running = [str(p.metadata.name) for p in pods if p.status.phase == "Running" and not p.metadata.deletion_timestamp]
    return running, [str(p.metadata.name) for p in pods]


def driver_pod(kube: Clients, node: str) -> str:
    running, found = driver_pods(kube, node)
    if len(running) != 1:
        raise RuntimeError(f"expected one running fake-gpu pod on {node}, found {found}")
    return str(running[0])


def restart_driver(kube: Clients, node: str, timeout: float = 90) -> tuple[str, float]:
    """Delete the node's driver pod and wait for its replacement to register with the kubelet;
    returns the new pod's name and the seconds taken."""
    old = driver_pod(kube, node)
    kube.core.delete_namespaced_pod(old, NAMESPACE)

    def replaced() -> tuple[bool, str]:
        running, found = driver_pods(kube, node)  # while the old pod goes, none or two may run
        if running == [old] or len(running) != 1:
            return False, f"fake-gpu pods on {node}: {found}, running {running}"
        new = running[0]
        registered = "registered with the kubelet" in kube.core.read_namespaced_pod_log(new, NAMESPACE)
        return registered, f"driver pod {new} ({'registered' if registered else 'not registered yet'})"

    seconds = wait_until(replaced, timeout, f"fake-gpu on {node} restarted and registered", interval=1)
    return driver_pod(kube, node), seconds
