"""Gang scheduling: Kueue admits a LeaderWorkerSet group whole or not at all, by a quota of the GPUs
its members claim through DRA, in the device profile's class (Kueue's DRA integration counts the
claims' devices against the ClusterQueue's `llm-conformance.io/gpu` quota): the fake driver's, or
whatever driver the cluster runs. Every member claims all GPUs of one node, so the
testbed's GPU count alone decides what fits, on any testbed size.

The module runs Kueue with waitForPodsReady (the testbed's timing, blockAdmission) and restores the
default Kueue options at its end. Negative controls: tests/cluster/test_gang_negative.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from harness.checks.gang import (
    Binding,
    check_evicted_and_requeued,
    check_one_whole_others_wait,
    check_preempted_as_unit,
    check_whole_or_nothing,
    condition,
    served_versions,
    wait_admitted,
    watch_until_whole,
    workload,
    workload_of,
)
from harness.cluster.testbed import TestbedCluster
from harness.dra.profile import DeviceProfile
from harness.kube.client import Clients
from harness.kube.labels import LWS_API
from harness.kube.objects import delete
from harness.report.record import CheckRecord
from harness.scenarios import gang as scenarios
from harness.scenarios.gang import HOLD, WHOLE, Quota
from harness.stack import StackFigures
from harness.timeouts import EVICTED

pytestmark = pytest.mark.gang


@pytest.fixture(scope="module")
def quota(testbed: TestbedCluster, kube: Clients, stack: StackFigures, devices: DeviceProfile) -> Iterator[Quota]:
    """The driver's GPUs, mock vLLM, Kueue with waitForPodsReady, and a ClusterQueue whose quota is every GPU."""
    with scenarios.gpu_quota(testbed, kube, "llmc-gang", scenarios.wait_for_pods_ready(testbed), devices) as quota:
        yield quota


@pytest.fixture
def namespace(kube: Clients, quota: Quota) -> Iterator[str]:
    """A namespace per check, so that each starts with every GPU free."""
    with scenarios.gang_namespace(kube, quota, "gang") as ns:
        yield ns


def record_binding(record: CheckRecord, binding: Binding) -> None:
    for group, points in binding.bound.items():
        record.series(f"pods_bound.{group}", points, "pods", group=group)
    record.evidence(binding.summary())


def test_group_that_does_not_fit_is_admitted_whole_or_not_at_all(
    kube: Clients, namespace: str, quota: Quota, record: CheckRecord
) -> None:
    """A group that does not fit is admitted whole or not at all: zero pods of it bound"""
    with record.step("a group larger than the GPUs submitted, watched", kind="observe"):
        binding = scenarios.group_that_does_not_fit(kube, namespace, quota)
    record_binding(record, binding)
    check_whole_or_nothing(binding, HOLD)
    wl = workload(kube, namespace, workload_of(kube, namespace, "big", "big-0"))
    pending = condition(wl, "QuotaReserved") or {}
    record.evidence(f"Kueue on big-0: {pending.get('reason')}: {pending.get('message')}")
    record.figure("pods_bound_of_group_that_does_not_fit", binding.last("big-0"), "pods")


def test_two_competing_groups_one_runs_whole_the_other_waits_whole(
    kube: Clients, namespace: str, quota: Quota, record: CheckRecord
) -> None:
    """Two groups competing for the same GPUs: exactly one runs whole, the other waits whole"""
    with record.step("two groups for the same GPUs submitted, watched", kind="observe"):
        run = scenarios.competing_groups(kube, namespace, quota)
    binding = run.binding
    record_binding(record, binding)
    running = check_one_whole_others_wait(binding, HOLD)
    waiting = next(g for g in run.groups if g != running)
    admitted = wait_admitted(kube, namespace, workload_of(kube, namespace, running.removesuffix("-0"), running))
    # The Admitted condition's time has 1 s resolution (truncated): clamp, so it never reads negative.
    record.figure(
        "time_to_admission", max(0.0, admitted - run.submitted), "s", note=f"{running}, from submission; ±1 s"
    )

    # The waiting group gets the GPUs once the running one is gone, still whole.
    released = time.time()
    record.event(f"{running} deleted", released)
    delete(kube, LWS_API, "LeaderWorkerSet", running.removesuffix("-0"), namespace)
    with record.step(f"{running} deleted: {waiting} whole", kind="observe"):
        whole = watch_until_whole(run.pods, run.groups, waiting, binding, timeout=WHOLE)
    record_binding(record, binding)
    admitted = wait_admitted(kube, namespace, workload_of(kube, namespace, waiting.removesuffix("-0"), waiting))
    record.figure("time_to_admission_after_release", admitted - released, "s", note=waiting)
    record.figure("time_to_whole_after_release", whole, "s", note=waiting)
    check_one_whole_others_wait(binding, HOLD)


def test_group_that_cannot_become_ready_is_evicted_and_requeued(
    kube: Clients, testbed: TestbedCluster, namespace: str, record: CheckRecord
) -> None:
    """A group that cannot become ready is evicted and requeued (waitForPodsReady)"""
    scenarios.require_wait_for_pods_ready(kube)
    name = scenarios.stuck_group(kube, namespace)
    with record.step("the stuck group admitted", kind="wait"):
        admitted = wait_admitted(kube, namespace, name)
    timeout = scenarios.wait_for_pods_ready(testbed)
    with record.step(f"evicted after waitForPodsReady {timeout}, requeued", kind="observe"):
        requeue = check_evicted_and_requeued(kube, namespace, name, timeout=EVICTED)
    record.event("admitted", admitted)
    record.event("evicted (PodsReadyTimeout)", requeue.evicted_at)
    record.figure("time_to_requeue", requeue.evicted_at - admitted, "s", note=f"waitForPodsReady {timeout}")
    if requeue.requeue_at is not None:
        record.figure("requeue_backoff", requeue.requeue_at - requeue.evicted_at, "s")
    record.evidence(f"workload {name}: admitted, evicted for PodsReadyTimeout and requeued")


def test_higher_priority_group_preempts_a_lower_one_as_a_unit(
    kube: Clients, namespace: str, quota: Quota, record: CheckRecord
) -> None:
    """A higher-priority group preempts a lower one as a unit"""
    with record.step("a low-priority group whole, a high-priority one submitted"):
        run = scenarios.preempting_groups(kube, namespace, quota, high_priority=quota.high)
    record.event("high-priority group submitted", run.submitted)
    with record.step("high-priority group whole", kind="observe"):
        seconds = watch_until_whole(run.pods, ["low-0", "high-0"], "high-0", run.binding, timeout=WHOLE)
    record_binding(record, run.binding)
    check_preempted_as_unit(run.binding, "low-0", "high-0", HOLD)
    size = quota.layout.nodes
    left = {p.metadata.uid for p in run.pods().get("low-0", []) if p.spec.node_name}
    evicted = len(run.low_uids - left)
    record.figure("pods_evicted.low-0", evicted, "pods")
    record.figure("preemption_to_whole", seconds, "s", note="high-priority group submitted -> whole on nodes")
    wl = workload(kube, namespace, workload_of(kube, namespace, "low", "low-0"))
    evicted_condition = condition(wl, "Evicted") or {}
    record.evidence(f"low-0: {evicted}/{size} pods evicted; {evicted_condition.get('reason')}")
    assert evicted == size, f"low-0: {evicted}/{size} of its pods evicted"


def test_native_gang_scheduling(kube: Clients, namespace: str, quota: Quota, record: CheckRecord) -> None:
    """Native gang scheduling (Workload/PodGroup API) admits a group that does not fit not at all"""
    versions = served_versions(kube, "scheduling.k8s.io", "podgroups")
    if not versions:
        record.not_applicable(
            "the API server does not serve scheduling.k8s.io PodGroups (on Kubernetes 1.37: feature gate "
            "GenericWorkload and runtimeConfig scheduling.k8s.io/v1beta1: 'true' in the testbed spec)"
        )
    with record.step("a PodGroup larger than the GPUs submitted, watched", kind="observe"):
        binding = scenarios.native_group(kube, namespace, quota, f"scheduling.k8s.io/{versions[-1]}")
    record_binding(record, binding)
    check_whole_or_nothing(binding, HOLD)
