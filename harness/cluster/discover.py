"""What a cluster the harness did not create has: its topology and its installed components.

Topology comes from node labels (zone, rack, hardware profile) and from the ResourceSlices of ANY
DRA driver: devices are sorted into GPUs and NICs by their `type` attribute or their driver's name,
and placed by the standard `resource.kubernetes.io/numaNode` / `pcieRoot` attributes (or the same
names in the driver's own domain, as DraNet publishes them). From that a testbed spec is synthesised,
so suites read `testbed.spec.workers` the same way on any cluster.

Components (LWS, Kueue, KEDA, Prometheus) are found by their controllers' images, wherever they run,
and their CRDs; DRA drivers by the slices they publish. `snapshot()` reads the cluster; everything
else is pure functions of that snapshot, so it is unit-tested on plain objects.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, cast

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from harness.kube.client import Clients
from harness.kube.labels import ACCELERATOR_DRIVERS, PROMETHEUS_SERVICE
from harness.spec.model import (
    PROFILE_LABEL,
    RACK_LABEL,
    ZONE_LABEL,
    HardwareProfile,
    Node,
    PCIeSwitch,
    PortMapping,
    Testbed,
)
from harness.supply.cache import digest

CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
NUMA_ATTRIBUTES = ("resource.kubernetes.io/numaNode", "numaNode", "numa")
PCIE_ATTRIBUTES = ("resource.kubernetes.io/pcieRoot", "pcieRoot")
# A controller's image repository (its last path element) names the component it runs.
CONTROLLER_IMAGES = {"lws": "lws", "kueue": "kueue", "keda": "keda", "prometheus": "prometheus"}
CRDS = {
    "lws": "leaderworkersets.leaderworkerset.x-k8s.io",
    "kueue": "clusterqueues.kueue.x-k8s.io",
    "keda": "scaledobjects.keda.sh",
}


@dataclass
class Snapshot:
    """The raw objects discovery reads (as the API returns them, serialised to plain dicts)."""

    version: str
    nodes: list[dict[str, Any]]
    slices: list[dict[str, Any]]
    crds: set[str]
    workloads: list[dict[str, Any]]  # Deployments, DaemonSets and StatefulSets, with "kind" set
    services: set[str]  # namespace/name


@dataclass(frozen=True)
class Device:
    driver: str
    node: str
    name: str
    kind: str  # gpu | nic | other
    numa: int | None
    pcie_root: str | None
    model: str = ""
    memory: str = ""
    rdma: bool = False
    clique: str | None = None


@dataclass(frozen=True)
class Found:
    """An installed component or DRA driver, and how it was recognised."""

    name: str
    version: str  # "" when no image tag says it
    usable: bool  # the harness can use it as it is
    evidence: str
    namespace: str = ""


@dataclass
class Discovery:
    spec: Testbed
    components: dict[str, Found]
    drivers: dict[str, Found]
    devices: list[Device] = field(default_factory=list)

    def describe(self) -> str:
        lines = [f"cluster {self.spec.source}: Kubernetes {self.spec.kubernetes}, {len(self.spec.nodes)} nodes"]
        for n in self.spec.nodes:
            hw = n.hardware
            devices = (
                f"{hw.gpu_count} GPUs, {hw.nic_count} NICs on {len(hw.numa_nodes)} NUMA nodes" if hw else "no devices"
            )
            lines.append(f"  {n.name} ({n.role}) zone={n.zone or '-'} rack={n.rack or '-'}: {devices}")
        for name, p in sorted(self.spec.profiles.items()):
            layout = " | ".join(
                "numa" + str(i) + ": " + (", ".join(f"{s.gpus}g+{s.nics}n" for s in sw) or "none")
                for i, sw in enumerate(p.numa_nodes)
            )
            model = " ".join(x for x in (p.gpu_model or "?", p.gpu_memory) if x)
            lines.append(f"  profile {name}: {model} [{layout}]")
        lines.append("components:")
        for name in CONTROLLER_IMAGES:
            c = self.components.get(name)
            state = f"{c.version or 'version unknown'}{'' if c.usable else ' (not usable)'}" if c else "missing"
            lines.append(f"  {name}: {state}" + (f" — {c.evidence}" if c else ""))
        lines.append("DRA drivers:" + ("" if self.drivers else " none"))
        lines += [f"  {' '.join(x for x in (d.name, d.version) if x)}: {d.evidence}" for d in self.drivers.values()]
        return "\n".join(lines)


def snapshot(kube: Clients) -> Snapshot:
    """Read what discovery needs; only list and get calls."""
    api = kube.api

    def items(listed: Any) -> list[dict[str, Any]]:
        return plain_items(kube, listed)

    workloads = []
    for kind, listed in (
        ("Deployment", kube.apps.list_deployment_for_all_namespaces()),
        ("DaemonSet", kube.apps.list_daemon_set_for_all_namespaces()),
        ("StatefulSet", kube.apps.list_stateful_set_for_all_namespaces()),
    ):
        workloads += [{**o, "kind": kind} for o in items(listed)]
    crds = {str(c["metadata"]["name"]) for c in items(client.ApiextensionsV1Api(api).list_custom_resource_definition())}
    services = {
        f"{s['metadata']['namespace']}/{s['metadata']['name']}"
        for s in items(kube.core.list_service_for_all_namespaces())
    }
    return Snapshot(
        version=str(client.VersionApi(api).get_code().git_version),
        nodes=items(kube.core.list_node()),
        slices=_resource_slices(kube),
        crds=crds,
        workloads=workloads,
        services=services,
    )


def plain_items(kube: Clients, listed: Any) -> list[dict[str, Any]]:
    """A list call's items as plain dicts (as `kubectl get -o json` shows them)."""
    body: dict[str, Any] = kube.api.sanitize_for_serialization(listed)
    return list(body["items"])


def _resource_slices(kube: Clients) -> list[dict[str, Any]]:
    custom = client.CustomObjectsApi(kube.api)
    for version in ("v1", "v1beta2", "v1beta1"):
        try:
            listed = custom.list_cluster_custom_object("resource.k8s.io", version, "resourceslices")
            return list(cast(dict[str, Any], listed)["items"])
        except ApiException as e:
            if e.status != 404:
                raise
    return []  # no DRA API on this cluster


def discover(kube: Clients, name: str, source: str, ports: tuple[PortMapping, ...] = ()) -> Discovery:
    return analyse(snapshot(kube), name, source, ports)


def analyse(snap: Snapshot, name: str, source: str, ports: tuple[PortMapping, ...] = ()) -> Discovery:
    devs = devices(snap.slices)
    return Discovery(
        spec=synthesise_spec(snap, devs, name, source, ports),
        components=components(snap),
        drivers=drivers(snap, devs),
        devices=devs,
    )


# --- devices ---------------------------------------------------------------------------------


def attribute(device: dict[str, Any], driver: str, names: tuple[str, ...]) -> Any:
    """An attribute's value by any of `names`, as given or in the driver's domain."""
    attrs = device.get("attributes") or device.get("basic", {}).get("attributes") or {}
    for name in names:
        for key in (name, f"{driver}/{name}"):
            if key in attrs:
                return next(iter(attrs[key].values()), None)
    return None


def _kind(device: dict[str, Any], driver: str) -> str:
    declared = str(attribute(device, driver, ("type",)) or "").lower()
    if declared in ("gpu", "nic"):
        return declared
    if declared:
        return "other"  # e.g. a MIG partition: not a whole GPU
    if "gpu" in driver or driver in ACCELERATOR_DRIVERS:  # e.g. the DRA test driver
        return "gpu"
    if driver == "dra.net" or any(t in driver for t in ("nic", "rdma", "net")):
        return "nic"
    return "other"


def devices(slices: list[dict[str, Any]]) -> list[Device]:
    """Node-local devices of every driver, from each pool's newest generation of slices."""
    newest: dict[tuple[str, str], int] = {}
    for s in slices:
        key = (s["spec"]["driver"], s["spec"]["pool"]["name"])
        newest[key] = max(newest.get(key, 0), int(s["spec"]["pool"].get("generation", 0)))
    found = []
    for s in slices:
        spec = s["spec"]
        driver, node = spec["driver"], spec.get("nodeName")
        if not node or int(spec["pool"].get("generation", 0)) != newest[(driver, spec["pool"]["name"])]:
            continue
        for d in spec.get("devices") or []:
            numa = attribute(d, driver, NUMA_ATTRIBUTES)
            clique = attribute(d, driver, ("nvlinkClique", "cliqueId"))
            memory = ((d.get("capacity") or {}).get("memory") or {}).get("value", "")
            found.append(
                Device(
                    driver=driver,
                    node=node,
                    name=d["name"],
                    kind=_kind(d, driver),
                    numa=int(numa) if numa is not None else None,
                    pcie_root=attribute(d, driver, PCIE_ATTRIBUTES),
                    model=str(attribute(d, driver, ("model", "productName")) or ""),
                    memory=str(memory),
                    rdma=bool(attribute(d, driver, ("rdma",))),
                    clique=str(clique) if clique is not None else None,
                )
            )
    return found


def _natural(name: str) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def profile(node_devices: list[Device], name: str) -> HardwareProfile | None:
    """A node's GPUs and NICs as a hardware profile: NUMA nodes, then PCIe roots as its switches
    (a device without NUMA attribute counts as NUMA 0, without PCIe root as its NUMA's own switch)."""
    placed = [d for d in node_devices if d.kind in ("gpu", "nic")]
    if not placed:
        return None
    numa_of = {d: d.numa or 0 for d in placed}
    roots: dict[int, list[str]] = {}
    for d in placed:
        roots.setdefault(numa_of[d], [])
        root = d.pcie_root or "unknown"
        if root not in roots[numa_of[d]]:
            roots[numa_of[d]].append(root)
    numa_nodes = []
    ordered_gpus: list[Device] = []  # the order HardwareProfile.inventory() numbers GPUs in
    for numa in range(max(roots) + 1):
        switches = []
        for root in sorted(roots.get(numa, []), key=_natural):
            here = [d for d in placed if numa_of[d] == numa and (d.pcie_root or "unknown") == root]
            gpus = sorted((d for d in here if d.kind == "gpu"), key=lambda d: _natural(d.name))
            ordered_gpus += gpus
            switches.append(PCIeSwitch(gpus=len(gpus), nics=len(here) - len(gpus)))
        numa_nodes.append(tuple(switches))
    cliques: dict[str, list[int]] = {}
    for index, gpu in enumerate(ordered_gpus):
        if gpu.clique is not None:
            cliques.setdefault(gpu.clique, []).append(index)
    nics = [d for d in placed if d.kind == "nic"]
    return HardwareProfile(
        name=name,
        numa_nodes=tuple(numa_nodes),
        gpu_model=_most_common(d.model for d in ordered_gpus),
        gpu_memory=_most_common(d.memory for d in ordered_gpus),
        nic_model=_most_common(d.model for d in nics),
        nic_rdma=any(d.rdma for d in nics),
        nvlink_cliques=tuple(tuple(c) for c in sorted(cliques.values())),
    )


def _most_common(values: Any) -> str:
    counts = Counter(v for v in values if v)
    return counts.most_common(1)[0][0] if counts else ""


# --- the spec ---------------------------------------------------------------------------------


def synthesise_spec(
    snap: Snapshot, devs: list[Device], name: str, source: str, ports: tuple[PortMapping, ...]
) -> Testbed:
    profiles: dict[str, HardwareProfile] = {}
    nodes = []
    for n in sorted(snap.nodes, key=lambda n: n["metadata"]["name"]):
        node_name = n["metadata"]["name"]
        labels = n["metadata"].get("labels") or {}
        hw = profile([d for d in devs if d.node == node_name], labels.get(PROFILE_LABEL, ""))
        if hw is not None:
            anonymous = replace(hw, name="")
            if not hw.name or profiles.get(hw.name, hw) != hw:
                hw = replace(hw, name=f"discovered-{digest(repr(anonymous))[:8]}")
            profiles[hw.name] = hw
        nodes.append(
            Node(
                name=node_name,
                role="control-plane" if CONTROL_PLANE_LABEL in labels else "worker",
                zone=labels.get(ZONE_LABEL),
                rack=labels.get(RACK_LABEL),
                hardware=hw,
                # What the cluster says, not what the harness would set: checks compare against these.
                labels={k: labels[k] for k in (ZONE_LABEL, RACK_LABEL, PROFILE_LABEL) if k in labels},
                discovered=True,
            )
        )
    return Testbed(
        name=name,
        kubernetes=snap.version,
        nodes=tuple(nodes),
        profiles=profiles,
        feature_gates={},
        runtime_config={},
        ports=ports,
        source=source,
    )


# --- components and drivers -------------------------------------------------------------------


def _images(workload: dict[str, Any]) -> list[str]:
    containers = workload.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or []
    return [c["image"] for c in containers]


def _repository_and_tag(image: str) -> tuple[str, str]:
    image = image.split("@", 1)[0]
    last = image.rsplit("/", 1)[-1]
    repo, _, tag = last.partition(":")
    return repo, tag


def _version(tag: str) -> str:
    return f"v{tag}" if tag[:1].isdigit() else tag


def components(snap: Snapshot) -> dict[str, Found]:
    found: dict[str, Found] = {}
    for name, repository in CONTROLLER_IMAGES.items():
        for w in snap.workloads:
            image = next((i for i in _images(w) if _repository_and_tag(i)[0] == repository), None)
            if image is None:
                continue
            where = f"{w['kind']} {w['metadata']['namespace']}/{w['metadata']['name']} runs {image}"
            crd = CRDS.get(name)
            usable, note = True, ""
            if crd and crd not in snap.crds:
                usable, note = False, f"; CRD {crd} missing"
            if name == "prometheus" and "/".join(PROMETHEUS_SERVICE) not in snap.services:
                # The suites query Prometheus at that Service; another one cannot answer them.
                usable, note = False, f"; no Service {'/'.join(PROMETHEUS_SERVICE)} to query"
            version = _version(_repository_and_tag(image)[1])
            found[name] = Found(name, version, usable, where + note, w["metadata"]["namespace"])
            if usable:
                break
    return found


def drivers(snap: Snapshot, devs: list[Device]) -> dict[str, Found]:
    """Every driver publishing slices: its nodes, devices, topology attributes and (best guess) image."""
    found = {}
    for driver in sorted({s["spec"]["driver"] for s in snap.slices}):
        mine = [d for d in devs if d.driver == driver]
        kinds = Counter(d.kind for d in mine)
        numa = sum(d.numa is not None for d in mine)
        pcie = sum(d.pcie_root is not None for d in mine)
        image = _driver_image(snap, driver)
        evidence = (
            f"{len({d.node for d in mine})} nodes, "
            + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
            + f"; NUMA attribute on {numa}/{len(mine)}, PCIe root on {pcie}/{len(mine)}"
            + (f"; DaemonSet image {image}" if image else "")
        )
        found[driver] = Found(driver, _version(_repository_and_tag(image)[1]) if image else "", True, evidence)
    return found


GENERIC = {"io", "com", "net", "org", "k8s", "x-k8s", "kubernetes", "resource", "example"}


def _driver_image(snap: Snapshot, driver: str) -> str:
    """The image of a DaemonSet whose name or namespace carries a distinctive part of the driver's
    name (a guess: slices do not name the pods that publish them)."""
    tokens = [t for t in re.split(r"[.]", driver) if t and t not in GENERIC]
    for w in snap.workloads:
        if w["kind"] != "DaemonSet":
            continue
        where = f"{w['metadata']['namespace']}/{w['metadata']['name']}"
        if any(t in where for t in tokens) and _images(w):
            return _images(w)[0]
    return ""
