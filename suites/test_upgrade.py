"""Upgrades under load: draining a node that hosts a group, an LWS rolling update, the gap of a
pod-level PodDisruptionBudget, and a group-aware drain order that closes it. Set-ups (the graceful
engine, groups per node, the load): harness/scenarios/upgrade.py.

Negative controls: tests/cluster/test_upgrade_negative.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.checks import upgrade
from harness.cluster.testbed import TestbedCluster
from harness.kube import drain
from harness.kube.client import Clients
from harness.kube.namespaces import scratch_namespace
from harness.load import background
from harness.report.record import CheckRecord
from harness.scenarios.upgrade import (
    DRAIN_REQUEST_TIMEOUT,
    DRAIN_USERS,
    drained_groups,
    lightest_node,
    load_spec,
    new_template_env,
    pod_budget,
    rolling_groups,
    spread_groups,
    wait_traffic,
)
from harness.serving import inference
from harness.serving.groups import GroupTimeline
from harness.timeouts import DRAIN, GROUP_WHOLE, ROLLOUT

pytestmark = [pytest.mark.upgrade, pytest.mark.disruptive]


@pytest.fixture
def namespace(kube: Clients, mock_vllm: str) -> Iterator[str]:
    with scratch_namespace(kube.core, "upgrade") as ns:
        yield ns


def record_groups(record: CheckRecord, timeline: GroupTimeline, replicas: int) -> None:
    record.series("groups_unavailable", list(timeline.unavailable(replicas)), "groups")
    record.series("whole_groups", timeline.whole_groups(), "groups")


def record_losses(record: CheckRecord, out: Path) -> None:
    """Recorded before any verdict, so a failing run shows how many were lost."""
    losses = upgrade.losses(out)
    record.figure("lost_requests", losses.lost, "requests", "unanswered after the client's retries")
    record.figure(
        "retried_requests", losses.retried, "requests", "answered after a retry (connection closed before a response)"
    )


def test_draining_a_node_under_load_loses_no_request(
    record: CheckRecord, kube: Clients, testbed: TestbedCluster, namespace: str
) -> None:
    """Draining a node that hosts a group under load loses no request with grace period, preStop and engine drain"""
    with record.step("groups with the graceful engine, one node hosting a group"):
        svc = drained_groups(kube, testbed, namespace)
    count = inference.replicas(kube, svc)
    node = lightest_node(kube, svc)
    hosted = sorted(inference.groups_on(kube, svc)[node])
    out = record.load_dir("drain")
    spec = load_spec(testbed, duration=90, users=DRAIN_USERS, request_timeout=DRAIN_REQUEST_TIMEOUT)
    with svc.observe(kube) as timeline, background(spec, out) as load:
        with record.step("load flowing", kind="wait"):
            wait_traffic(out)
        with drain.cordoned(kube.core, node):
            load.mark(f"drain {node}")
            started = time.time()
            with record.step(f"drain {node}", kind="observe"):
                evicted = drain.drain(kube.core, namespace, node, timeout=DRAIN)
            drained = time.time() - started
            load.mark("drained")
            with record.step("every group whole again", kind="observe"):
                recovered = inference.wait_whole(kube, svc, count, timeout=GROUP_WHOLE)
            load.mark("groups whole again")
        load.stop()
    result = load.result()
    record.load(result, out)
    record_groups(record, timeline, count)
    record.figure("drain_seconds", drained, "s", f"evictions until {len(evicted)} pods terminated")
    record.figure("recovery_seconds", recovered, "s", "after the drain, until every group is whole again")
    record.figure("failed_requests", result.failed, "requests")
    record.evidence(f"drained {node} hosting groups {hosted}: evicted {evicted}")
    record.evidence(f"load: {result.requests} requests, e2e p99 {result.e2e.p99} s, ttft p99 {result.ttft.p99} s")
    record_losses(record, out)
    upgrade.no_request_lost(result, out, f"drain of {node}")


def test_rolling_update_replaces_whole_groups_within_bounds_and_keeps_serving(
    record: CheckRecord, kube: Clients, testbed: TestbedCluster, namespace: str
) -> None:
    """An LWS rolling update replaces whole groups within maxUnavailable/maxSurge, unmixed, and keeps serving"""
    max_unavailable, max_surge = 1, 1
    with record.step("groups to roll"):
        svc, lws = rolling_groups(kube, testbed, namespace, max_unavailable, max_surge)
    count = inference.replicas(kube, svc)
    old = inference.revision(kube, svc)
    out = record.load_dir("rollout")
    with svc.observe(kube) as timeline, background(load_spec(testbed, duration=240), out) as load:
        with record.step("load flowing", kind="wait"):
            wait_traffic(out)
        load.mark("rollout starts")
        inference.patch_lws(kube, svc, new_template_env("LLMC_RELEASE", "2", lws))
        with record.step(f"rolling update of {count} groups", kind="observe"):
            new = inference.wait_rolled(kube, svc, count, old, timeout=ROLLOUT)
        load.mark("rollout done")
        time.sleep(2)  # a last sample of the finished state
        load.stop()
    result = load.result()
    record.load(result, out)
    record_groups(record, timeline, count)
    marks = {m.label: m.at for m in result.marks}
    record.figure("rollout_seconds", marks["rollout done"] - marks["rollout starts"], "s", f"{count} groups")
    record.figure("failed_requests", result.failed, "requests")
    record.figure(
        "most_groups_unavailable",
        upgrade.most_unavailable(timeline, count),
        "groups",
        f"allowed {max_unavailable}",
    )
    record.figure(
        "most_groups_at_once", max(len(s.groups) for s in timeline.samples), "groups", f"{count} + {max_surge}"
    )
    record_losses(record, out)
    rollout = upgrade.rolled_by_whole_groups(timeline, count, max_unavailable, max_surge, new)
    record.evidence(
        f"revision {old} → {new}; {len(timeline.samples)} samples; no group had Ready members of two revisions; "
        f"{rollout.transient_mixed_samples} samples showed a group being replaced with unready members of two"
    )
    upgrade.no_request_lost(result, out, "rolling update")


def test_group_aware_drain_breaks_one_group_at_a_time(
    record: CheckRecord, kube: Clients, testbed: TestbedCluster, namespace: str
) -> None:
    """A group-aware drain order breaks one group at a time, where a pod-level PodDisruptionBudget cannot"""
    with record.step("a group per worker, one node hosting members of two"):
        svc, node = spread_groups(kube, testbed, namespace)
    count = len(testbed.spec.workers)
    out = record.load_dir("group-drain")
    with svc.observe(kube) as timeline, background(load_spec(testbed, duration=180), out) as load:
        with drain.cordoned(kube.core, node):
            load.mark(f"group-aware drain {node}")
            with record.step(f"group-aware drain of {node}", kind="observe"):
                order = inference.drain_group_by_group(kube, svc, node, count, timeout=GROUP_WHOLE)
            load.mark("drained")
        load.stop()
    result = load.result()
    record.load(result, out)
    record_groups(record, timeline, count)
    record.figure("failed_requests", result.failed, "requests")
    record_losses(record, out)
    record.figure("most_groups_unavailable", upgrade.most_unavailable(timeline, count), "groups", "allowed 1")
    record.evidence(f"{node} hosted members of groups {order}; drained one group at a time")
    upgrade.groups_broken_at_most(timeline, 1, count, f"group-aware drain of {node}")


def test_pod_level_budget_lets_a_plain_drain_break_several_groups(
    record: CheckRecord, kube: Clients, testbed: TestbedCluster, namespace: str
) -> None:
    """A pod-level PodDisruptionBudget cannot protect a group: a plain drain under it breaks several groups at once"""
    with record.step("a group per worker, one node hosting members of two"):
        svc, node = spread_groups(kube, testbed, namespace)
    count = len(testbed.spec.workers)
    budget = pod_budget(svc)
    inference.create(kube, budget, namespace)
    with svc.observe(kube) as timeline, drain.cordoned(kube.core, node):
        record.event(f"plain drain of {node}")
        with record.step(f"plain drain of {node}", kind="observe"):
            drain.drain(kube.core, namespace, node, timeout=DRAIN)
        with record.step("every group whole again", kind="observe"):
            inference.wait_whole(kube, svc, count, timeout=GROUP_WHOLE)
    record_groups(record, timeline, count)
    worst = upgrade.most_unavailable(timeline, count)
    record.figure(
        "most_groups_unavailable", worst, "groups", f"budget maxUnavailable {budget['spec']['maxUnavailable']} pods"
    )
    _, seen = upgrade.pod_budget_gap(timeline, count, f"drain of {node} under a pod-level PodDisruptionBudget")
    record.evidence(f"the group-aware drain's check on this plain drain: {seen}")
