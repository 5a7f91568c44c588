"""Scaling: KEDA scales a LeaderWorkerSet of mock vLLM groups on `vllm:num_requests_waiting`
(through Prometheus) under Locust load and back down, to zero when idle, only ever by whole groups;
a capacity buffer of low-priority placeholder pods is preempted by the groups. Scaling from zero:
suites/test_scaling_from_zero.py.

Negative controls: tests/cluster/test_scaling_negative.py.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness import progress
from harness.checks import CheckFailed, scaling
from harness.cluster.testbed import TestbedCluster
from harness.kube.client import Clients
from harness.kube.namespaces import scratch_namespace
from harness.load import LoadResult, background
from harness.report.record import CheckRecord
from harness.scenarios.scaling import (
    THRESHOLD,
    allow_scale_to_zero,
    most_groups,
    queue_load,
    queue_scaled_service,
    scale_up_seconds,
)
from harness.serving import buffer, inference
from harness.serving.groups import GroupTimeline
from harness.serving.inference import Service
from harness.timeouts import SCALE, SCALE_DOWN

pytestmark = pytest.mark.scaling
log = logging.getLogger("llmc.check")


@dataclass
class Cycle:
    """One scale-up under load and scale-down after it, observed group by group."""

    svc: Service
    timeline: GroupTimeline
    out: Path
    load: LoadResult | None = None
    up: float | None = None
    down: float | None = None
    failure: CheckFailed | None = None
    marks: dict[str, float] = field(default_factory=dict)


@pytest.fixture(scope="module")
def cycle(
    kube: Clients, testbed: TestbedCluster, mock_vllm: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cycle]:
    top = most_groups(testbed)
    with scratch_namespace(kube.core, "scaling") as ns:
        svc = queue_scaled_service(kube, testbed, ns)
        out = tmp_path_factory.mktemp("scaling-load")
        with svc.observe(kube) as timeline:
            run = Cycle(svc, timeline, out)
            with background(queue_load(testbed, top, duration=240), out) as load:
                load.mark("load starts")
                try:
                    with progress.step(log, f"under load: scaled up to {top} whole groups"):
                        run.up = scaling.scaled_to(kube, svc, top, timeout=SCALE)
                    load.mark(f"{top} groups whole")
                except CheckFailed as e:
                    run.failure = e
                load.stop()
            run.marks["load stopped"] = time.time()
            if run.failure is None:
                try:
                    with progress.step(log, "load stopped: scaled down to 1 group"):
                        run.down = scaling.scaled_to(kube, svc, 1, timeout=SCALE_DOWN)
                except CheckFailed as e:
                    run.failure = e
        run.load = load.result()
        yield run


def test_keda_scales_groups_up_under_load_and_down_after(
    record: CheckRecord, cycle: Cycle, testbed: TestbedCluster
) -> None:
    """KEDA scales an LWS by whole groups on vllm:num_requests_waiting under load, and back down after it"""
    assert cycle.load is not None
    record.load(cycle.load, cycle.out)
    record.series("whole_groups", cycle.timeline.whole_groups(), "groups")
    record.series("lws_replicas", [(s.at, s.replicas) for s in cycle.timeline.samples], "groups")
    record.figure("most_whole_groups", max((n for _, n in cycle.timeline.whole_groups()), default=0), "groups")
    record.figure("failed_requests", cycle.load.failed, "requests")
    record.evidence(f"load: {cycle.load.requests} requests, {cycle.load.failed} failed, ttft p50 {cycle.load.ttft.p50}")
    if cycle.up is not None:
        record.figure("scale_up", cycle.up, "s", f"1 → {most_groups(testbed)} whole groups serving, from load start")
    if cycle.down is not None:
        record.figure("scale_down", cycle.down, "s", "back to 1 group, from load stop")
    if cycle.failure is not None:
        raise cycle.failure


def test_every_group_created_by_scaling_is_whole_before_it_serves(record: CheckRecord, cycle: Cycle) -> None:
    """Every group created by scaling is whole before it serves: no partial group is ever an endpoint"""
    record.figure("groups_created", len(scaling.created_groups(cycle.timeline)), "groups", "by the scale-up")
    partial = scaling.whole_before_serving(cycle.timeline)
    record.figure("partial_group_seconds", sum(partial.values()), "s", "summed over groups, sampled every 0.5 s")
    for index, seconds in sorted(partial.items()):
        record.evidence(f"group {index}: not whole (a member missing or not yet Ready) for {seconds:.1f} s")
    record.evidence(
        f"{len(cycle.timeline.samples)} samples of groups and Service endpoints: no leader was an endpoint while a "
        "member of its group was missing or not running"
    )


def test_keda_scales_groups_to_zero_when_idle(record: CheckRecord, kube: Clients, cycle: Cycle) -> None:
    """KEDA scales the LWS to zero groups when no request waits"""
    so = inference.scaled_object(cycle.svc, THRESHOLD, 0, 1)
    allow_scale_to_zero(kube, cycle.svc)
    started = time.time()
    record.event("minReplicaCount set to 0", started)
    with record.step("scaled to zero", kind="observe"):
        seconds = scaling.scaled_to(kube, cycle.svc, 0, timeout=SCALE_DOWN)
    record.figure("scale_to_zero", seconds, "s", f"cooldownPeriod {so['spec']['cooldownPeriod']} s")


def test_capacity_buffer_is_preempted_by_scaled_groups(
    record: CheckRecord, kube: Clients, testbed: TestbedCluster, mock_vllm: str
) -> None:
    """A capacity buffer (low-priority placeholder pods) is preempted by the groups a scale-up creates"""
    top = most_groups(testbed)
    with record.step(f"scale-up 1 → {top} without a buffer", kind="observe"):
        without, _, _ = scale_up_seconds(kube, testbed, priority_class=None)
    record.figure("scale_up_without_buffer", without, "s", f"1 → {top} groups on free CPU")
    with buffer.placeholder_class(kube) as priority_class, record.step(f"scale-up 1 → {top} with a buffer", "observe"):
        with_buffer, placed, preempted = scale_up_seconds(kube, testbed, priority_class)
    record.figure("scale_up_with_buffer", with_buffer, "s", f"1 → {top} groups, preempting placeholders")
    record.figure("placeholders_preempted", len(preempted), "pods", f"of {len(placed)} placed")
    record.evidence(f"placeholders preempted: {preempted}")
    record.evidence(
        "no node autoscaler on a kind testbed: without the buffer the capacity is simply free, so the buffer "
        "cannot be faster here; its gain is the node provisioning it hides, which this testbed does not have"
    )
