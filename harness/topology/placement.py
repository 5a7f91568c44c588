"""The placement map: every member of every group, with its rack, node, NUMA nodes and devices, read
from the pods, their ResourceClaims' allocations and the driver's ResourceSlices (so it works on any
cluster, not only on testbeds the harness made).

A group is what the check cares about: an LWS group (`<lws>-<group index>`), or a single claim pod.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fake_gpu.slices import NUMA_ATTRIBUTE as NUMA
from kubernetes import client

from harness.kube.client import Clients
from harness.kube.labels import LWS_GROUP_INDEX_LABEL, LWS_NAME_LABEL
from harness.report.record import CheckRecord
from harness.spec import RACK_LABEL
from harness.topology.allocations import Allocated, wait_allocated

GroupOf = Callable[[client.V1Pod], str]


@dataclass(frozen=True)
class Member:
    group: str
    pod: str
    node: str  # "" while the pod is not bound
    rack: str  # "" when the node has no rack label
    devices: tuple[Allocated, ...] = ()
    claims: tuple[str, ...] = ()  # the ResourceClaims the pod holds

    @property
    def bound(self) -> bool:
        return bool(self.node)

    @property
    def numa_nodes(self) -> list[int]:
        return sorted({int(d.attributes[NUMA]) for d in self.devices if NUMA in d.attributes})

    def __str__(self) -> str:
        devices = ",".join(f"{d.device}@numa{d.attributes.get(NUMA, '?')}" for d in self.devices) or "no devices"
        return f"{self.pod} on {self.node or '(unbound)'} ({self.rack or 'no rack'}; {devices})"


def lws_group(pod: client.V1Pod) -> str:
    labels = pod.metadata.labels or {}
    return f"{labels.get(LWS_NAME_LABEL, '?')}-{labels.get(LWS_GROUP_INDEX_LABEL, '?')}"


def pod_name(pod: client.V1Pod) -> str:
    return str(pod.metadata.name)


def racks(kube: Clients) -> dict[str, str]:
    """Node name → rack, from the nodes' labels."""
    return {n.metadata.name: (n.metadata.labels or {}).get(RACK_LABEL, "") for n in kube.core.list_node().items}


def _claims(pod: client.V1Pod) -> list[str]:
    """The ResourceClaims a pod holds: named directly, or generated from a template (in its status)."""
    named = {c.name: c.resource_claim_name for c in pod.spec.resource_claims or [] if c.resource_claim_name}
    for status in pod.status.resource_claim_statuses or []:
        if status.resource_claim_name:
            named[status.name] = status.resource_claim_name
    return sorted(named.values())


def placement_map(kube: Clients, namespace: str, selector: str = "", group_of: GroupOf = lws_group) -> list[Member]:
    """Every pod matching `selector`, as a member of its group, sorted by group then pod."""
    rack_of = racks(kube)
    members = []
    for pod in kube.core.list_namespaced_pod(namespace, label_selector=selector).items:
        node = pod.spec.node_name or ""
        claims = _claims(pod)
        devices: list[Allocated] = []
        if node:  # a bound pod's claims were allocated before binding: no waiting here
            for claim in claims:
                devices += wait_allocated(kube, namespace, claim, pod.metadata.name, timeout=10)[0]
        members.append(
            Member(group_of(pod), pod.metadata.name, node, rack_of.get(node, ""), tuple(devices), tuple(claims))
        )
    return sorted(members, key=lambda m: (m.group, m.pod))


def groups(members: list[Member]) -> dict[str, list[Member]]:
    by_group: dict[str, list[Member]] = {}
    for m in members:
        by_group.setdefault(m.group, []).append(m)
    return by_group


def record_placement(record: CheckRecord, members: list[Member]) -> None:
    """One placement line per member for the report's map (NUMA: the one node its devices share, if any)."""
    for m in members:
        numa = m.numa_nodes
        record.placement(
            group=m.group,
            rack=m.rack,
            node=m.node,
            numa=numa[0] if len(numa) == 1 else None,
            devices=[f"{d.device}@numa{d.attributes.get(NUMA, '?')}" for d in m.devices],
            pod=m.pod,
        )
