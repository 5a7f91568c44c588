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
from dataclasses import dataclass, field
from typing import Any

from harness.checks import CheckFailed
from harness.kube.client import Clients
from harness.kube.labels import LWS_GROUP_INDEX_LABEL, LWS_NAME_LABEL
from harness.kube.pods import describe, is_ready
from harness.kube.waits import TRANSIENT, WaitTimeout, wait_until
from harness.serving.observe import ring_state


@dataclass(frozen=True)
class GroupState:
    name: str  # <lws>-<group>: the leader pod's name
    uids: dict[str, str]  # pod name -> UID
    nodes: dict[str, str]  # pod name -> node
    ring_id: str
    ring_phase: str
    ring_reason: str
    ready: dict[str, bool] = field(default_factory=dict)  # pod name -> Ready
    described: tuple[str, ...] = ()  # harness.kube.pods.describe of each pod

    def line(self) -> str:
        reason = f" ({self.ring_reason})" if self.ring_reason else ""
        return f"pods {sorted(self.uids)} on {sorted(set(self.nodes.values()))}, ring {self.ring_phase}{reason}"

    def whole(self, size: int) -> bool:
        return len(self.uids) == size and sum(self.ready.values()) == size


def group_members(kube: Clients, namespace: str, lws: str, group: int) -> list[Any]:
    """The group's pods (V1Pod) that are not being deleted."""
    selector = f"{LWS_NAME_LABEL}={lws},{LWS_GROUP_INDEX_LABEL}={group}"
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
        {p.metadata.name: is_ready(p) for p in pods},
        tuple(describe(p) for p in pods),
    )


def check_formed(state: GroupState, size: int) -> None:
    """All `size` members exist and are Ready, and the leader's ring formed."""
    if not state.whole(size) or state.ring_phase != "formed":
        raise CheckFailed(
            f"{len(state.uids)}/{size} members, {sum(state.ready.values())} Ready; {state.line()}; "
            + " | ".join(state.described)
        )


def wait_group_formed(kube: Clients, namespace: str, lws: str, group: int, size: int, timeout: float) -> GroupState:
    """All `size` members Ready and the leader's ring formed; the group's state then."""
    state: GroupState | None = None

    def formed() -> tuple[bool, str]:
        nonlocal state
        state = group_state(kube, namespace, lws, group)
        try:
            check_formed(state, size)
        except CheckFailed as e:  # not yet: the state is what the wait reports
            return False, str(e)
        return True, state.line()

    try:
        wait_until(formed, timeout, f"group {lws}-{group}: {size} members Ready, ring formed")
    except WaitTimeout as e:
        raise CheckFailed(str(e)) from None
    assert state is not None  # for mypy: the wait returned after a look
    return state


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
    state: GroupState | None = None

    def recreated() -> tuple[bool, str]:
        nonlocal state
        state = group_state(kube, namespace, lws, group)
        try:
            check_recreated(before, state, size, lost_node)
        except CheckFailed as e:  # not yet: the state is what the wait reports
            return False, str(e)
        return True, state.line()

    try:
        seconds = wait_until(recreated, timeout, f"group {before.name} recreated whole with a new ring")
    except WaitTimeout as e:
        raise CheckFailed(f"group {before.name} not recreated whole: {e}") from None
    assert state is not None  # for mypy: the wait returned after a look
    return seconds, state


def check_recreated(before: GroupState, after: GroupState, size: int, lost_node: str | None = None) -> None:
    """`after` is a new group: `size` members Ready, none with a UID from `before`, none on
    `lost_node`, and the leader's ring formed with another id."""
    old = set(before.uids.values())
    kept = sorted(name for name, uid in after.uids.items() if uid in old)
    on_lost = sorted(name for name, node in after.nodes.items() if lost_node and node == lost_node)
    new_ring = after.ring_phase == "formed" and after.ring_id not in ("", before.ring_id)
    if not after.whole(size) or kept or on_lost or not new_ring:
        raise CheckFailed(
            f"pods that kept their UIDs: {kept or 'none'}; {len(after.uids)}/{size} members, "
            f"{sum(after.ready.values())} Ready; leader ring {after.ring_phase}"
            + (f" ({after.ring_reason})" if after.ring_reason else "")
            + ("" if after.ring_phase != "formed" or new_ring else f", the same ring {after.ring_id}")
            + (f"; still on lost node {lost_node}: {on_lost}" if on_lost else "")
        )


@dataclass(frozen=True)
class Seen:
    """One watch event: its place in the stream (the API server's order) and when it arrived (epoch s)."""

    order: int
    at: float


@dataclass(frozen=True)
class Startup:
    """How a group started, as a pod watch saw it."""

    leader: str
    leader_ready: Seen | None  # the first event that showed the leader Ready
    workers_added: dict[str, Seen]  # worker pod name -> its ADDED event
    ended: str = ""  # why the watch ended early, if it did


def workers_after_leader_ready(startup: Startup) -> float:
    """Every worker was created after its leader became Ready: its ADDED event comes after the
    leader's Ready in the watch (events arrive in the order the API server stored them, so two in
    the same second are still ordered). Returns seconds from the leader's Ready to the last worker."""
    ended = f" (watch ended: {startup.ended})" if startup.ended else ""
    ready = startup.leader_ready
    if ready is None:
        raise CheckFailed(f"leader {startup.leader} never seen Ready{ended}")
    if not startup.workers_added:
        raise CheckFailed(f"no worker of {startup.leader} seen created{ended}")
    early = {name: ready.at - seen.at for name, seen in startup.workers_added.items() if seen.order < ready.order}
    if early:
        shown = ", ".join(f"{name} {seconds:.1f} s before" for name, seconds in sorted(early.items()))
        raise CheckFailed(
            f"workers created before leader {startup.leader} was Ready: {shown}: workers did not wait for the leader"
        )
    return max(seen.at for seen in startup.workers_added.values()) - ready.at
