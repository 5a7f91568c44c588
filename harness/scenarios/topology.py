"""The topology suites' setups, shared by the suite and its negative controls so that a negative
control differs from the check's setup in one named way (annotation removed, queue removed, ...).

All objects live in the caller's scratch namespace, except the Kueue topology objects, which
`kueue_topology` removes when it ends.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import openai
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from harness import load, timeouts
from harness.builders.kueue import ClusterQueue, LocalQueue, ResourceFlavor, Topology
from harness.builders.lws import LeaderWorkerSet
from harness.checks import CheckFailed
from harness.dra.claims import FAKE_GPU, Claim, claim_pod
from harness.dra.install import node_inventories
from harness.dra.profile import DeviceProfile
from harness.kube.client import Clients
from harness.kube.conditions import condition, is_true
from harness.kube.labels import KUEUE_API, LWS_API, LWS_GROUP_INDEX_LABEL, LWS_NAME_LABEL
from harness.kube.objects import create, delete, delete_all, delete_object, wait_deleted
from harness.kube.pods import wait_ready
from harness.kube.waits import WaitTimeout, wait_until
from harness.report.record import CheckRecord
from harness.serving.manifests import Engine, leader_service, lws_leaders, mock_vllm_lws
from harness.serving.observe import ring_state, stream_chat
from harness.spec import RACK_LABEL, ZONE_LABEL, Testbed
from harness.spec.model import PortMapping
from harness.topology.allocations import wait_allocated
from harness.topology.claims import Rounds, numa_is
from harness.topology.placement import Member, groups, placement_map, record_placement

SIZE = 2
API_SERVICE = "topology-api"
LATENCY_LOAD = {"users": 4, "spawn_rate": 4, "duration": 10, "max_tokens": 32}
ENGINE = Engine(inter_token_latency_ms=20, shutdown_timeout_seconds=2, termination_grace_period_seconds=5)


@dataclass(frozen=True)
class GroupRun:
    """A LeaderWorkerSet the scenario created: `groups` groups of `size` members."""

    name: str
    groups: int
    size: int = SIZE

    @property
    def selector(self) -> str:
        return f"{LWS_NAME_LABEL}={self.name}"

    def group_selector(self, group: str) -> str:
        return f"{self.selector},{LWS_GROUP_INDEX_LABEL}={group.rsplit('-', 1)[1]}"

    @property
    def leader(self) -> str:
        return f"{self.name}-0"


def racks(spec: Testbed) -> list[str]:
    return sorted({w.rack for w in spec.workers if w.rack})


def exclusive_groups(kube: Clients, namespace: str, groups: int, exclusive: bool, pin_rack: str = "") -> GroupRun:
    """`groups` groups with the exclusive-topology annotation on the rack label (or without it, and
    then optionally all pinned to `pin_rack`)."""
    run = GroupRun("excl", groups)
    obj = mock_vllm_lws(run.name, SIZE, groups, ENGINE, exclusive_topology=RACK_LABEL if exclusive else None)
    lws = LeaderWorkerSet(obj)
    if pin_rack:
        lws.pinned_to_rack(pin_rack)
    create(kube, lws.obj(), namespace)
    return run


def spreading_groups(kube: Clients, namespace: str, groups: int, queue: str | None) -> GroupRun:
    """Groups whose members prefer different racks; through Kueue's `queue` with the rack as
    required topology, or (queue None) left to the scheduler."""
    run = GroupRun("tas", groups)
    lws = LeaderWorkerSet(mock_vllm_lws(run.name, SIZE, groups, ENGINE)).single_template().prefer_other_racks()
    if queue:
        lws.queue(queue).required_topology(RACK_LABEL)
    create(kube, lws.obj(), namespace)
    return run


def wait_placed(
    kube: Clients, namespace: str, run: GroupRun, whole_groups: int, timeout: float = 240
) -> tuple[list[str], list[str]]:
    """Wait until all pods exist and `whole_groups` groups are bound whole; returns (bound groups,
    the other groups)."""

    def state() -> tuple[bool, str]:
        members = placement_map(kube, namespace, run.selector)
        by_group = groups(members)
        whole = _whole(by_group, run.size)
        done = len(by_group) == run.groups and len(whole) == whole_groups
        return done, f"{len(whole)} groups whole; " + "; ".join(map(str, members))

    try:
        wait_until(state, timeout, f"{whole_groups} groups of {run.name} bound whole", interval=2)
    except WaitTimeout as e:
        raise CheckFailed(str(e)) from None
    by_group = groups(placement_map(kube, namespace, run.selector))
    whole = _whole(by_group, run.size)
    return whole, sorted(set(by_group) - set(whole))


def bound_seconds(kube: Clients, namespace: str, selector: str) -> float:
    """From the first pod's creation to the last bound pod's PodScheduled, from the pods' timestamps."""
    pods = [p for p in kube.core.list_namespaced_pod(namespace, label_selector=selector).items if p.spec.node_name]
    created = min(cast(datetime, p.metadata.creation_timestamp) for p in pods)
    scheduled = max(
        cast(datetime, c.last_transition_time)
        for p in pods
        for c in p.status.conditions or []
        if c.type == "PodScheduled"
    )
    return (scheduled - created).total_seconds()


def _whole(by_group: dict[str, list[Member]], size: int) -> list[str]:
    return sorted(g for g, ms in by_group.items() if len(ms) == size and all(m.bound for m in ms))


def _custom(kube: Clients) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(kube.api)


@contextmanager
def kueue_topology(kube: Clients, namespace: str, spec: Testbed) -> Iterator[str]:
    """A Topology (zone → rack → node), a flavor on it, a ClusterQueue and a LocalQueue in
    `namespace`; yields the LocalQueue's name. On exit, the namespace's LWSs go first (their
    workloads hold the queue), then the cluster-scoped objects."""
    zones = sorted({w.zone for w in spec.workers if w.zone})
    if len(zones) != 1:
        raise ValueError(f"kueue_topology needs the workers in one zone, the testbed has {zones}")
    name = f"llmc-topology-{secrets.token_hex(3)}"
    cluster_objects = [
        Topology(name).obj(),
        ResourceFlavor(name).node_labels({ZONE_LABEL: zones[0]}).topology(name).obj(),
        ClusterQueue(name).flavor(name).quota(cpu="4", memory="8Gi").obj(),
    ]
    try:
        for obj in cluster_objects:
            create(kube, obj)
        create(kube, LocalQueue(name, name).obj(), namespace)
        _wait_active(kube, name)
        yield name
    finally:
        delete_all(kube, LWS_API, "LeaderWorkerSet", namespace)
        _wait_no_pods(kube, namespace, "")
        for obj in reversed(cluster_objects):
            delete_object(kube, obj)
        for obj in cluster_objects:
            wait_deleted(kube, obj["apiVersion"], obj["kind"], name, timeout=90)


def _wait_active(kube: Clients, name: str) -> None:
    group, version = KUEUE_API.split("/")
    api = _custom(kube)

    def active() -> tuple[bool, str]:
        cq = cast(dict[str, Any], api.get_cluster_custom_object(group, version, "clusterqueues", name))
        active = condition(cq, "Active")
        return is_true(cq, "Active"), f"Active: {active or 'no condition yet'}"

    wait_until(active, timeouts.REACTION, f"ClusterQueue {name} active")


def injected_selectors(kube: Clients, namespace: str, selector: str) -> dict[str, dict[str, str]]:
    """The node selectors each pod ended up with (Kueue's topology ungater writes the domain here)."""
    return {
        p.metadata.name: p.spec.node_selector or {}
        for p in kube.core.list_namespaced_pod(namespace, label_selector=selector).items
    }


def _numa_nodes(spec: Testbed) -> tuple[list[int], list[int]]:
    """NUMA nodes that have GPUs, and those that have NICs, on the first worker with devices."""
    inv = next(i for i in node_inventories(spec) if i.gpus)
    return sorted({g.numa for g in inv.gpus}), sorted({n.numa for n in inv.nics})


def latency_group(
    kube: Clients,
    namespace: str,
    spec: Testbed,
    name: str,
    misplaced: bool,
    devices: DeviceProfile = FAKE_GPU,
    image: str = "",
) -> GroupRun:
    """One group of engine members (mock vLLM, or `image`), each with a GPU and a NIC. Aligned: one
    rack (exclusive topology), GPU and NIC on one NUMA node (constraint). Misplaced, deliberately:
    members in different racks, GPU and NIC on different NUMA nodes (selectors instead of the
    constraint)."""
    claim = Claim(f"{name}-devices", devices)
    numa = devices.attribute("numa")
    gpu_numa, nic_numa = _numa_nodes(spec)
    if not misplaced:
        claim.gpus(1).nics(1).match(numa)
    elif gpu_numa[-1] != nic_numa[0]:
        claim.gpus(1, numa_is(gpu_numa[-1], devices)).nics(1, numa_is(nic_numa[0], devices))
    else:
        claim.gpus(1).nics(1)  # one NUMA node: only the racks can be wrong
    create(kube, claim.template(), namespace)
    engine = Engine(
        inter_token_latency_ms=ENGINE.inter_token_latency_ms,
        shutdown_timeout_seconds=ENGINE.shutdown_timeout_seconds,
        termination_grace_period_seconds=ENGINE.termination_grace_period_seconds,
        resource_claims=({"name": "devices", "resourceClaimTemplateName": claim.name},),
        image=image,
    )
    obj = mock_vllm_lws(name, SIZE, 1, engine, exclusive_topology=None if misplaced else RACK_LABEL)
    if misplaced and len(racks(spec)) > 1:
        obj = LeaderWorkerSet(obj).different_racks().obj()
    create(kube, obj, namespace)
    run = GroupRun(name, 1)
    wait_ready(kube.core, namespace, [run.leader, f"{run.leader}-1"], timeout=240)
    return run


def measure(
    kube: Clients, namespace: str, run: GroupRun, port: PortMapping, record: CheckRecord, label: str = ""
) -> load.LoadResult:
    """Record the group's placement and ring, point the NodePort Service (the testbed's only mapped
    port) at its leader, and run the bounded load through 127.0.0.1."""
    label = label or run.name
    record_placement(record, placement_map(kube, namespace, run.selector))
    ring = ring_state(kube, namespace, run.leader)
    record.evidence(f"{label}: ITL slowdown {ring.get('itl_slowdown')}, placement {ring['placement']}")
    _point_service(kube, namespace, run, port)
    out = record.load_dir(label)
    spec = load.LoadSpec(target=port.url, **LATENCY_LOAD)  # type: ignore[arg-type]
    result = load.run(spec, out)
    record.load(result, out, name=label)
    return result


def _point_service(kube: Clients, namespace: str, run: GroupRun, port: PortMapping) -> None:
    """Create the Service, or switch its selector to this group's leader (no delete and re-create
    of the NodePort, which makes kube-proxy churn), then wait until streams pass steadily."""
    service = leader_service(API_SERVICE, lws_leaders(run.name), port.node_port)
    try:
        kube.core.read_namespaced_service(API_SERVICE, namespace)
        kube.core.patch_namespaced_service(API_SERVICE, namespace, {"spec": {"selector": service["spec"]["selector"]}})
    except ApiException as e:
        if e.status != 404:
            raise
        create(kube, service, namespace)

    def steady() -> tuple[bool, str]:
        try:
            got = [stream_chat(port.host_port) for _ in range(3)]
        except openai.APIError as e:  # kube-proxy not yet sending the port to the new leader
            return False, f"{type(e).__name__}: {e}"
        return got == [8, 8, 8], f"tokens per stream {got}"

    wait_until(steady, 90, f"3 full streams in a row through 127.0.0.1:{port.host_port} to {run.leader}")


def remove_group(kube: Clients, namespace: str, run: GroupRun) -> None:
    """Delete the LWS and wait until its pods and their claims are gone (their devices are free)."""
    delete(kube, LWS_API, "LeaderWorkerSet", run.name, namespace)
    _wait_no_pods(kube, namespace, run.selector)


def _wait_no_pods(kube: Clients, namespace: str, selector: str) -> None:
    def gone() -> tuple[bool, str]:
        pods = [p.metadata.name for p in kube.core.list_namespaced_pod(namespace, label_selector=selector).items]
        claims = cast(
            dict[str, Any],
            _custom(kube).list_namespaced_custom_object("resource.k8s.io", "v1", namespace, "resourceclaims"),
        )
        held = [c["metadata"]["name"] for c in claims["items"] if c["metadata"].get("ownerReferences")]
        return not pods and not held, f"pods {pods}, generated claims {held}"

    wait_until(gone, timeouts.GONE, f"pods {selector or '(all)'} and their claims gone from {namespace}", interval=1)


def allocate(kube: Clients, namespace: str, rounds: Rounds, timeout: float = 90) -> int:
    """Create every claim and its holder pod, pinned to its node, round by round (each round allocated
    before the next starts, since first fit depends on the earlier ones); returns how many were
    allocated (all, or CheckFailed)."""
    count = 0
    for placed in rounds:
        for p in placed:
            create(kube, p.claim.obj(), namespace)
            create(kube, claim_pod(f"{p.claim.name}-pod", p.claim.name, p.node), namespace)
        for p in placed:
            wait_allocated(kube, namespace, p.claim.name, f"{p.claim.name}-pod", timeout)
            count += 1
    return count
