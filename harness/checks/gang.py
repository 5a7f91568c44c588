"""Gang checks on LeaderWorkerSet groups: how many pods of each group the scheduler bound, over time,
and whether Kueue admitted, evicted and requeued each group's Workload as a unit. Each raises
CheckFailed with the evidence, or returns figures.

The suite (suites/test_gang.py) runs them with Kueue admitting groups by a GPU quota; the negative
controls (tests/cluster/test_gang_negative.py) run them on the same groups without Kueue, or on Kueue
without waitForPodsReady, and expect them to fail.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from kubernetes import client

from harness import timeouts
from harness.checks import CheckFailed
from harness.kube.client import Clients
from harness.kube.labels import KUEUE_API, KUEUE_POD_GROUP_ANNOTATION, LWS_GROUP_INDEX_LABEL, LWS_NAME_LABEL
from harness.kube.waits import WaitTimeout, wait_until


@dataclass
class Binding:
    """Pods created and bound per group, sampled over a window: the "pods bound per group" figure."""

    size: int
    bound: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # group -> (epoch, pods bound)
    created: dict[str, int] = field(default_factory=dict)  # group -> pods that exist at the end

    def last(self, group: str) -> int:
        return int(self.bound[group][-1][1]) if self.bound.get(group) else 0

    def partial_seconds(self, group: str) -> float:
        """How long the group has been partially bound (0 < bound < size) without a break, up to now."""
        points = self.bound.get(group, [])
        if not points or not 0 < points[-1][1] < self.size:
            return 0.0
        since = points[-1][0]
        for at, bound in reversed(points):
            if not 0 < bound < self.size:
                break
            since = at
        return points[-1][0] - since

    def summary(self) -> str:
        return ", ".join(f"{g}: {self.last(g)}/{self.size} bound, {self.created.get(g, 0)} created" for g in self.bound)


def group_pods(kube: Clients, namespace: str, lwss: list[str]) -> dict[str, list[Any]]:
    """The pods (V1Pod) of the LWSs by group name (`<lws>-<group index>`), leaving out pods being deleted."""
    groups: dict[str, list[Any]] = {}
    for lws in lwss:
        pod: Any
        for pod in kube.core.list_namespaced_pod(namespace, label_selector=f"{LWS_NAME_LABEL}={lws}").items:
            if pod.metadata.deletion_timestamp is None:
                groups.setdefault(f"{lws}-{pod.metadata.labels[LWS_GROUP_INDEX_LABEL]}", []).append(pod)
    return groups


def native_pods(kube: Clients, namespace: str, gang: str) -> dict[str, list[Any]]:
    """The pods of a native gang (harness.serving.gpu_groups.native_gang), as one group."""
    pods: list[Any] = kube.core.list_namespaced_pod(namespace, label_selector=f"gang={gang}").items
    return {gang: [p for p in pods if p.metadata.deletion_timestamp is None]}


Pods = Callable[[], dict[str, list[Any]]]  # group name -> its pods (V1Pod), now


def sample(pods: Pods, binding: Binding, groups: list[str]) -> None:
    """Add one sample of every group's bound pods (those with a node) to `binding`."""
    now, seen = time.time(), pods()
    for group in groups:
        members = seen.get(group, [])
        binding.bound.setdefault(group, []).append((now, sum(1 for p in members if p.spec.node_name)))
        binding.created[group] = len(members)


def watch_binding(pods: Pods, groups: list[str], size: int, seconds: float, binding: Binding | None = None) -> Binding:
    """Sample every group's bound pods once a second for `seconds` once all their pods exist."""
    binding = binding or Binding(size)

    def created() -> tuple[bool, str]:
        sample(pods, binding, groups)
        return all(binding.created.get(g, 0) == size for g in groups), binding.summary()

    try:
        wait_until(created, timeouts.CREATED, f"every pod of groups {groups} created", interval=1)
    except WaitTimeout as e:
        raise CheckFailed(str(e)) from None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(1)
        sample(pods, binding, groups)
    return binding


def watch_until_whole(pods: Pods, groups: list[str], group: str, binding: Binding, timeout: float) -> float:
    """Sample until `group` is whole on nodes (bounded); returns the seconds it took."""

    def whole() -> tuple[bool, str]:
        sample(pods, binding, groups)
        return binding.last(group) == binding.size, binding.summary()

    try:
        return wait_until(whole, timeout, f"group {group} whole on nodes", interval=1)
    except WaitTimeout as e:
        raise CheckFailed(str(e)) from None


def partial_groups(binding: Binding, hold: float) -> list[str]:
    """The groups partially bound for `hold` seconds or more, each with its count and how long."""
    return [
        f"group {g}: {binding.last(g)}/{binding.size} pods bound for {binding.partial_seconds(g):.0f} s"
        for g in binding.bound
        if binding.partial_seconds(g) >= hold
    ]


def check_no_partial_group(binding: Binding, hold: float) -> None:
    """No group is left partially bound: each has 0 or all of its pods on nodes (a group being bound
    may pass through partial counts, but not for `hold` seconds)."""
    partial = partial_groups(binding, hold)
    if partial:
        raise CheckFailed("; ".join(partial) + ": partial placement")


def check_whole_or_nothing(binding: Binding, hold: float) -> dict[str, float]:
    """A group that does not fit: no group partially bound, and none of its pods on a node. Returns
    the figure pods_bound_of_group_that_does_not_fit (the most of any group; on failure, in
    CheckFailed.figures)."""
    figures = {"pods_bound_of_group_that_does_not_fit": float(max(map(binding.last, binding.bound), default=0))}
    partial = partial_groups(binding, hold)
    if partial:
        raise CheckFailed("; ".join(partial) + ": partial placement", figures=figures)
    placed = [g for g in binding.bound if binding.last(g)]
    if placed:
        raise CheckFailed(f"groups {placed} bound although they cannot fit: {binding.summary()}", figures=figures)
    return figures


def check_one_whole_others_wait(binding: Binding, hold: float) -> str:
    """Groups competing for the same GPUs: exactly one whole, every other with zero pods bound.
    Returns the group that runs."""
    check_no_partial_group(binding, hold)
    whole = [g for g in binding.bound if binding.last(g) == binding.size]
    waiting = [g for g in binding.bound if binding.last(g) == 0]
    if len(whole) != 1 or len(whole) + len(waiting) != len(binding.bound):
        raise CheckFailed(f"want exactly one group whole and the others waiting whole: {binding.summary()}")
    return whole[0]


# Kueue's Workloads: one per LWS group, named in its pods' pod-group-name annotation.


def workload(kube: Clients, namespace: str, name: str) -> dict[str, Any]:
    group, version = KUEUE_API.split("/")
    api = client.CustomObjectsApi(kube.api)
    return cast(dict[str, Any], api.get_namespaced_custom_object(group, version, namespace, "workloads", name))


def workload_of(kube: Clients, namespace: str, lws: str, group: str) -> str:
    """The name of the Workload Kueue made for the group (from its pods' annotation)."""

    def labelled() -> tuple[bool, str]:
        pods = group_pods(kube, namespace, [lws]).get(group, [])
        names = {(p.metadata.annotations or {}).get(KUEUE_POD_GROUP_ANNOTATION) for p in pods}
        return len(names) == 1 and None not in names, f"pod-group-name annotations {names}"

    try:
        wait_until(labelled, timeouts.REACTION, f"group {group}'s pods annotated with their Kueue Workload")
    except WaitTimeout as e:
        raise CheckFailed(str(e)) from None
    pod: Any = group_pods(kube, namespace, [lws])[group][0]
    return str(pod.metadata.annotations[KUEUE_POD_GROUP_ANNOTATION])


def condition(wl: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((c for c in wl.get("status", {}).get("conditions", []) if c["type"] == kind), None)


def epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def conditions_line(wl: dict[str, Any]) -> str:
    conditions = wl.get("status", {}).get("conditions", [])
    return "; ".join(f"{c['type']}={c['status']} {c.get('reason', '')}" for c in conditions) or "no conditions"


def wait_condition(kube: Clients, namespace: str, name: str, kind: str, timeout: float) -> dict[str, Any]:
    """Waits until the Workload has condition `kind` True; returns the Workload (WaitTimeout if not)."""

    def true() -> tuple[bool, str]:
        wl = workload(kube, namespace, name)
        c = condition(wl, kind)
        return bool(c and c["status"] == "True"), f"workload {name}: {conditions_line(wl)}"

    wait_until(true, timeout, f"workload {name} {kind.lower()}")
    return workload(kube, namespace, name)


def wait_admitted(kube: Clients, namespace: str, name: str, timeout: float = 120) -> float:
    """Waits until the Workload is admitted; returns when (epoch seconds, from its condition)."""
    try:
        wl = wait_condition(kube, namespace, name, "Admitted", timeout)
    except WaitTimeout as e:
        raise CheckFailed(str(e)) from None
    c = condition(wl, "Admitted")
    assert c is not None
    return epoch(c["lastTransitionTime"])


@dataclass(frozen=True)
class Requeue:
    evicted_at: float  # epoch seconds
    requeue_at: float | None  # when Kueue will try to admit it again (backoff), if it said


def check_evicted_and_requeued(kube: Clients, namespace: str, name: str, timeout: float) -> Requeue:
    """A Workload whose pods do not all become Ready is evicted (PodsReadyTimeout) and requeued."""

    try:
        wl = wait_condition(kube, namespace, name, "Evicted", timeout)
    except WaitTimeout as e:
        raise CheckFailed(f"workload {name} admitted but never evicted: the group hangs; {e}") from None
    return check_requeued(name, wl)


def check_requeued(name: str, wl: dict[str, Any]) -> Requeue:
    """The evicted Workload `wl` was evicted for PodsReadyTimeout and requeued; when, and when again."""
    c = condition(wl, "Evicted")
    if c is None or c["status"] != "True":
        raise CheckFailed(f"workload {name} not evicted: {conditions_line(wl)}")
    if c.get("reason") != "PodsReadyTimeout":
        raise CheckFailed(f"workload {name} evicted for {c.get('reason')}, not PodsReadyTimeout: {c.get('message')}")
    requeued = condition(wl, "Requeued")
    state = wl.get("status", {}).get("requeueState", {})
    if requeued is None and not state:
        raise CheckFailed(f"workload {name} evicted but not requeued: {conditions_line(wl)}")
    at = state.get("requeueAt")
    return Requeue(epoch(c["lastTransitionTime"]), epoch(at) if at else None)


def check_preempted_as_unit(binding: Binding, low: str, high: str, hold: float) -> None:
    """The higher-priority group runs whole and the lower one it displaced has no pod left on a node
    (evicted as a unit, not trimmed to make room)."""
    check_no_partial_group(binding, hold)
    if binding.last(high) != binding.size or binding.last(low) != 0:
        raise CheckFailed(f"want {high} whole and {low} fully evicted: {binding.summary()}")


def served_versions(kube: Clients, group: str, resource: str) -> list[str]:
    """The versions of an API group that serve `resource` (discovery)."""
    apis = client.ApisApi(kube.api).get_api_versions()
    versions = next((g.versions for g in apis.groups if g.name == group), [])
    custom = client.CustomObjectsApi(kube.api)
    return [
        v.version
        for v in versions
        if any(r.name == resource for r in custom.get_api_resources(group, v.version).resources or [])
    ]
