"""Kubernetes' own DRA test driver (`k8s.io/kubernetes/test/e2e/dra/test-driver`) as a testbed driver:
a real kubelet plugin with CDI that publishes `--num-devices` attribute-less devices per node.

Built from the pinned Kubernetes module with `go` (no upstream image exists: its e2e tests run it
in-process behind a proxy pod) into a static binary on an empty base. Its objects are rendered here,
from what upstream's example deployment (test/e2e/dra/test-driver/deploy/example) says it needs:
a DeviceClass selecting the driver, RBAC for ResourceClaims and ResourceSlices, and a privileged
DaemonSet with the kubelet's plugin, registration and CDI directories.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from harness import versions
from harness.dra.drivers import published_devices
from harness.dra.install import DriverFigures, Target
from harness.kube.waits import WaitTimeout, wait_until
from harness.spec.model import PROFILE_LABEL
from harness.stack.component import diagnostics
from harness.stack.install import apply
from harness.stack.render import Object
from harness.supply import gobuild
from harness.supply.gobuild import GoBuild
from harness.supply.images import DockerImage, build_image
from harness.supply.source import recipes

DRIVER = "test-driver.cdi.k8s.io"  # its --drivername default
DEVICE_CLASS = "test-driver"
NAMESPACE = "dra-test-driver"
NAME = "dra-test-driver"
BINARY = "test-driver"
IMAGE = "llm-conformance.local/dra-test-driver"
# The plugin's socket directory, which it does not create (only its parent): made by the hostPath.
PLUGIN_DIR = f"/var/lib/kubelet/plugins/{DRIVER}"
REGISTRY = "/var/lib/kubelet/plugins_registry"
CDI = "/var/run/cdi"

log = logging.getLogger("llmc.dra")


def go_build() -> GoBuild:
    kubernetes = versions.pinned()["kubernetes"]
    return GoBuild(
        name="dra-test-driver",
        module="k8s.io/kubernetes",
        version=kubernetes,
        packages=("k8s.io/kubernetes/test/e2e/dra/test-driver",),
        sibling_version=versions.staging_version(kubernetes),
        ldflags=("-s", "-w"),
        binary=BINARY,
    )


def build_test_driver() -> str:
    """Build (or find cached) the image; returns its name, tagged with the Kubernetes version."""
    binaries = gobuild.build(go_build())
    image = DockerImage(
        names=(f"{IMAGE}:{versions.pinned()['kubernetes']}",),
        recipe=recipes() / "binary",
        files={BINARY: binaries / BINARY},
        build_args={"BINARY": BINARY},
    )
    return build_image(image)[0]


def device_class() -> Object:
    return {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "DeviceClass",
        "metadata": {"name": DEVICE_CLASS},
        "spec": {"selectors": [{"cel": {"expression": f'device.driver == "{DRIVER}"'}}]},
    }


def _rbac() -> list[Object]:
    rules: list[dict[str, Any]] = [
        {"apiGroups": ["resource.k8s.io"], "resources": ["resourceclaims"], "verbs": ["get"]},
        {"apiGroups": ["resource.k8s.io"], "resources": ["resourceclaims/status"], "verbs": ["patch", "update"]},
        {
            "apiGroups": ["resource.k8s.io"],
            "resources": ["resourceclaims/driver"],
            "verbs": ["associated-node:patch", "associated-node:update"],
            "resourceNames": [DRIVER],
        },
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]},
        {
            "apiGroups": ["resource.k8s.io"],
            "resources": ["resourceslices"],
            "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
        },
    ]
    subject = {"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}
    role_ref = {"kind": "ClusterRole", "name": NAME, "apiGroup": "rbac.authorization.k8s.io"}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": NAME, "namespace": NAMESPACE}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": NAME},
            "rules": rules,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": NAME},
            "subjects": [subject],
            "roleRef": role_ref,
        },
    ]


def _host_dir(name: str, path: str) -> dict[str, Any]:
    return {"name": name, "hostPath": {"path": path, "type": "DirectoryOrCreate"}}


def daemonset(image: str, devices: int) -> Object:
    """The kubelet plugin on every node with hardware in the spec (as the fake driver)."""
    labels = {"app.kubernetes.io/name": NAME}
    container = {
        "name": "plugin",
        "image": image,
        "command": [
            f"/usr/local/bin/{BINARY}",
            "kubelet-plugin",
            f"--num-devices={devices}",
            "--node-name=$(NODE_NAME)",
        ],
        "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
        "securityContext": {"privileged": True},
        "volumeMounts": [
            {"name": "plugin", "mountPath": PLUGIN_DIR},
            {"name": "registry", "mountPath": REGISTRY},
            {"name": "cdi", "mountPath": CDI},
        ],
    }
    spec = {
        "serviceAccountName": NAME,
        "containers": [container],
        "volumes": [_host_dir("plugin", PLUGIN_DIR), _host_dir("registry", REGISTRY), _host_dir("cdi", CDI)],
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": [{"key": PROFILE_LABEL, "operator": "Exists"}]}]
                }
            }
        },
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": NAME, "namespace": NAMESPACE},
        "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": spec}},
    }


def objects(image: str, devices: int) -> list[Object]:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
    return [namespace, *_rbac(), device_class(), daemonset(image, devices)]


def install_test_driver(target: Target, timeout: float = 180) -> DriverFigures:
    """Build, load, apply and wait until every worker with hardware published its GPU count of devices
    (the fewest any worker has: the driver takes one --num-devices for all)."""
    started = time.monotonic()
    image = build_test_driver()
    target.load_images([image])
    built = time.monotonic() - started
    workers = {w.name: w.hardware.gpu_count for w in target.spec.workers if w.hardware}
    devices = min(workers.values())
    apply(objects(image, devices), target.kubeconfig)
    kube = target.clients()

    def all_published() -> tuple[bool, str]:
        have = {node: len(d) for (driver, node), d in published_devices(kube).items() if driver == DRIVER}
        missing = {node: f"{have.get(node, 0)}/{devices}" for node in workers if have.get(node) != devices}
        return not missing, f"not yet published: {missing}" if missing else "all published"

    try:
        seconds = wait_until(all_published, timeout, f"{DRIVER} ResourceSlices on every worker", interval=1)
    except WaitTimeout as e:
        raise WaitTimeout(f"{e}\n{diagnostics(kube, NAMESPACE)}") from None
    log.info("DRA test driver: every worker's %d devices published %.0f s after apply", devices, seconds)
    return DriverFigures(image=image, build_seconds=built, publish_seconds=seconds)
