"""Group restart checks on mock vLLM LeaderWorkerSet groups: after a member, the leader or a node is
lost, the whole group is recreated (every pod UID changes) and a new ring forms; with
`startupPolicy: LeaderReady` workers are created only once the leader is Ready. Each raises
CheckFailed with the evidence, or returns figures.

The suite (suites/test_restart.py) runs them on LWS's defaults (RecreateGroupOnPodRestart) and on
LeaderReady; the negative controls (tests/cluster/test_restart_negative.py) on `restartPolicy: None`
and `LeaderCreated`, and expect them to fail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from harness.checks import CheckFailed
from harness.kube.client import Clients
from harness.kube.pods import describe, is_ready
from harness.kube.waits import TRANSIENT, WaitTimeout, wait_until
from harness.workloads.manifests import LWS_NAME_LABEL
from harness.workloads.observe import ring_state

GROUP_INDEX_LABEL = "leaderworkerset.sigs.k8s.io/group-index"


@dataclass(frozen=True)
class GroupState:
    name: str  # <lws>-<group>: the leader pod's name
    uids: dict[str, str]  # pod name -> UID
    nodes: dict[str, str]  # pod name -> node
    ring_id: str
    ring_phase: str
    ring_reason: str

    def line(self) -> str:
        reason = f" ({self.ring_reason})" if self.ring_reason else ""
        return f"pods {sorted(self.uids)} on {sorted(set(self.nodes.values()))}, ring {self.ring_phase}{reason}"


def group_members(kube: Clients, namespace: str, lws: str, group: int) -> list[Any]:
    """The group's pods (V1Pod) that are not being deleted."""
    selector = f"{LWS_NAME_LABEL}={lws},{GROUP_INDEX_LABEL}={group}"
    pods: list[Any] = kube.core.list_namespaced_pod(namespace, label_selector=selector).items
    return [p for p in pods if p.metadata.deletion_timestamp is None]


def group_state(kube: Clients, namespace: str, lws: str, group: int) -> GroupState:
    leader = f"{lws}-{group}"
    pods = group_members(kube, namespace, lws, group)
    try:
        ring = ring_state(kube, namespace, leader)
    except (*TRANSIENT, json.JSONDecodeError) as e:  # a leader that is gone or not listening yet has no ring
        ring = {"phase": "unreachable", "ring_id": "", "reason": type(e).__name__}
    return GroupState(
        leader,
        {p.metadata.name: p.metadata.uid for p in pods},
        {p.metadata.name: p.spec.node_name or "-" for p in pods},
        str(ring.get("ring_id", "")),
        str(ring.get("phase", "")),
        str(ring.get("reason") or ""),
    )


def wait_group_formed(kube: Clients, namespace: str, lws: str, group: int, size: int, timeout: float) -> GroupState:
    """All `size` members Ready and the leader's ring formed; the group's state then."""

    def formed() -> tuple[bool, str]:
        pods = group_members(kube, namespace, lws, group)
        state = group_state(kube, namespace, lws, group)
        ready = len(pods) == size and all(is_ready(p) for p in pods)
        return ready and state.ring_phase == "formed", f"{state.line()}; " + " | ".join(describe(p) for p in pods)

    try:
        wait_until(formed, timeout, f"group {lws}-{group}: {size} members Ready, ring formed")
    except WaitTimeout as e:
        raise CheckFailed(str(e)) from None
    return group_state(kube, namespace, lws, group)


def check_group_recreated(
    kube: Clients,
    namespace: str,
    lws: str,
    group: int,
    size: int,
    before: GroupState,
    timeout: float,
    lost_node: str | None = None,
) -> tuple[float, GroupState]:
    """The group is whole again as a new group: `size` members Ready, none with a UID it had before,
    none on `lost_node`, and the leader's ring formed anew (another ring id). Returns seconds and the
    new state."""
    old = set(before.uids.values())

    def recreated() -> tuple[bool, str]:
        pods = group_members(kube, namespace, lws, group)
        state = group_state(kube, namespace, lws, group)
        kept = sorted(p.metadata.name for p in pods if p.metadata.uid in old)
        on_lost = sorted(p.metadata.name for p in pods if lost_node and p.spec.node_name == lost_node)
        whole = len(pods) == size and all(is_ready(p) for p in pods)
        new_ring = state.ring_phase == "formed" and state.ring_id not in ("", before.ring_id)
        seen = (
            f"pods that kept their UIDs: {kept or 'none'}; {len(pods)}/{size} members, "
            f"{sum(is_ready(p) for p in pods)} Ready; leader ring {state.ring_phase}"
            + (f" ({state.ring_reason})" if state.ring_reason else "")
            + (f"; still on lost node {lost_node}: {on_lost}" if on_lost else "")
        )
        return whole and not kept and not on_lost and new_ring, seen

    try:
        seconds = wait_until(recreated, timeout, f"group {before.name} recreated whole with a new ring")
    except WaitTimeout as e:
        raise CheckFailed(f"group {before.name} not recreated whole: {e}") from None
    return seconds, group_state(kube, namespace, lws, group)


def check_workers_after_leader_ready(kube: Clients, namespace: str, lws: str, group: int) -> float:
    """Every worker of the group was created at or after the moment its leader became Ready (API
    timestamps, 1 s resolution). Returns how long after the leader's Ready the last worker came."""
    pods = {p.metadata.name: p for p in group_members(kube, namespace, lws, group)}
    leader = pods.get(f"{lws}-{group}")
    if leader is None:
        raise CheckFailed(f"group {lws}-{group} has no leader pod: {sorted(pods)}")
    ready = next((c for c in leader.status.conditions or [] if c.type == "Ready" and c.status == "True"), None)
    if ready is None:
        raise CheckFailed(f"leader {leader.metadata.name} is not Ready: {describe(leader)}")
    ready_at = ready.last_transition_time.timestamp()
    workers = {n: p.metadata.creation_timestamp.timestamp() for n, p in pods.items() if n != leader.metadata.name}
    if not workers:
        raise CheckFailed(f"group {lws}-{group} has no workers: {sorted(pods)}")
    early = {n: ready_at - at for n, at in workers.items() if at < ready_at}
    if early:
        shown = ", ".join(f"{n} {s:.0f} s before" for n, s in sorted(early.items()))
        raise CheckFailed(
            f"workers created before leader {leader.metadata.name} was Ready "
            f"({ready.last_transition_time:%H:%M:%S}): {shown}: workers did not wait for the leader"
        )
    return max(workers.values()) - ready_at
