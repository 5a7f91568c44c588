"""Gang scheduling: Kueue admits a LeaderWorkerSet group whole or not at all, by a quota of the fake
GPUs its members claim through DRA (Kueue's DRA integration counts the claims' devices against the
ClusterQueue's `llm-conformance.io/gpu` quota). Every member claims all GPUs of one node, so the
testbed's GPU count alone decides what fits, on any testbed size.

The module runs Kueue with waitForPodsReady (WAIT_FOR_PODS_READY, blockAdmission) and restores the
default Kueue options at its end. Negative controls: tests/cluster/test_gang_negative.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import partial

import pytest
from kubernetes import client

from harness.checks.gang import (
    Binding,
    check_evicted_and_requeued,
    check_one_whole_others_wait,
    check_preempted_as_unit,
    check_whole_or_nothing,
    condition,
    group_pods,
    native_pods,
    served_versions,
    wait_admitted,
    watch_binding,
    watch_until_whole,
    workload,
    workload_of,
)
from harness.cluster.testbed import TestbedCluster
from harness.dra import install_fake_gpu
from harness.kube.client import Clients
from harness.kube.namespaces import scratch_namespace
from harness.report.record import CheckRecord
from harness.stack import KueueOptions, StackFigures, install_stack
from harness.workloads.gpu_groups import GpuLayout, gpu_group, native_gang
from harness.workloads.images import build_mock_vllm
from harness.workloads.queues import (
    cluster_objects,
    create,
    gpu_cluster_queue,
    local_queue,
    queued,
    resource_flavor,
    workload_priority_class,
)

pytestmark = pytest.mark.gang
WAIT_FOR_PODS_READY = "30s"
CQ, FLAVOR, QUEUE = "llmc-gang-gpus", "llmc-gang-flavor", "gpus"
LOW, HIGH = "llmc-gang-low", "llmc-gang-high"
OBSERVE = 20  # seconds every group is watched once all its pods exist
HOLD = 10  # a group partially bound this long is partial placement, not a group being bound


@pytest.fixture(scope="module")
def layout(testbed: TestbedCluster, kube: Clients, stack: StackFigures) -> Iterator[GpuLayout]:
    """Fake GPUs, mock vLLM, Kueue with waitForPodsReady, and a ClusterQueue whose quota is every GPU."""
    install_fake_gpu(testbed)
    testbed.load_images([build_mock_vllm()])
    install_stack(testbed, KueueOptions(wait_for_pods_ready=WAIT_FOR_PODS_READY))
    gpus = GpuLayout.of(testbed.spec)
    try:
        queue = [
            resource_flavor(FLAVOR),
            gpu_cluster_queue(CQ, FLAVOR, gpus.total, preempt_lower_priority=True),
            workload_priority_class(LOW, 100),
            workload_priority_class(HIGH, 1000),
        ]
        with cluster_objects(kube, queue):
            yield gpus
    finally:
        install_stack(testbed)  # the default options the other suites expect


@pytest.fixture
def namespace(kube: Clients, layout: GpuLayout) -> Iterator[str]:
    """A namespace per check, so that each starts with every GPU free."""
    with scratch_namespace(kube.core, "gang") as ns:
        create(kube, layout.claim_template(), ns)
        create(kube, local_queue(QUEUE, CQ), ns)
        yield ns


def record_binding(record: CheckRecord, binding: Binding) -> None:
    for group, points in binding.bound.items():
        record.series(f"pods_bound.{group}", points, "pods", group=group)
    record.evidence(binding.summary())


def test_group_that_does_not_fit_is_admitted_whole_or_not_at_all(
    kube: Clients, namespace: str, layout: GpuLayout, record: CheckRecord
) -> None:
    """A group that does not fit is admitted whole or not at all: zero pods of it bound"""
    size = layout.nodes + 1  # one member more than there are GPU nodes
    create(kube, queued(gpu_group("big", size), QUEUE), namespace)
    binding = watch_binding(partial(group_pods, kube, namespace, ["big"]), ["big-0"], size, OBSERVE)
    record_binding(record, binding)
    check_whole_or_nothing(binding, HOLD)
    wl = workload(kube, namespace, workload_of(kube, namespace, "big", "big-0"))
    pending = condition(wl, "QuotaReserved") or {}
    record.evidence(f"Kueue on big-0: {pending.get('reason')}: {pending.get('message')}")
    record.figure("pods_bound_of_group_that_does_not_fit", binding.last("big-0"), "pods")


def test_two_competing_groups_one_runs_whole_the_other_waits_whole(
    kube: Clients, namespace: str, layout: GpuLayout, record: CheckRecord
) -> None:
    """Two groups competing for the same GPUs: exactly one runs whole, the other waits whole"""
    size = layout.nodes // 2 + 1  # one group fits, two do not
    lwss = ["first", "second"]
    created = time.time()
    for name in lwss:
        create(kube, queued(gpu_group(name, size), QUEUE), namespace)
    pods = partial(group_pods, kube, namespace, lwss)
    groups = [f"{name}-0" for name in lwss]
    binding = watch_binding(pods, groups, size, OBSERVE)
    record_binding(record, binding)
    running = check_one_whole_others_wait(binding, HOLD)
    waiting = next(g for g in groups if g != running)
    admitted = wait_admitted(kube, namespace, workload_of(kube, namespace, running.removesuffix("-0"), running))
    # The Admitted condition's time has 1 s resolution (truncated): clamp, so it never reads negative.
    record.figure("time_to_admission", max(0.0, admitted - created), "s", note=f"{running}, from submission; ±1 s")

    # The waiting group gets the GPUs once the running one is gone, still whole.
    released = time.time()
    record.event(f"{running} deleted", released)
    group, version = "leaderworkerset.x-k8s.io", "v1"
    client.CustomObjectsApi(kube.api).delete_namespaced_custom_object(
        group, version, namespace, "leaderworkersets", running.removesuffix("-0")
    )
    whole = watch_until_whole(pods, groups, waiting, binding, timeout=180)
    record_binding(record, binding)
    admitted = wait_admitted(kube, namespace, workload_of(kube, namespace, waiting.removesuffix("-0"), waiting))
    record.figure("time_to_admission_after_release", admitted - released, "s", note=waiting)
    record.figure("time_to_whole_after_release", whole, "s", note=waiting)
    check_one_whole_others_wait(binding, HOLD)


def test_group_that_cannot_become_ready_is_evicted_and_requeued(
    kube: Clients, namespace: str, record: CheckRecord
) -> None:
    """A group that cannot become ready is evicted and requeued (waitForPodsReady)"""
    create(kube, queued(gpu_group("stuck", 2, readiness_path="/never-ready"), QUEUE), namespace)
    name = workload_of(kube, namespace, "stuck", "stuck-0")
    admitted = wait_admitted(kube, namespace, name)
    requeue = check_evicted_and_requeued(kube, namespace, name, timeout=120)
    record.event("admitted", admitted)
    record.event("evicted (PodsReadyTimeout)", requeue.evicted_at)
    record.figure("time_to_requeue", requeue.evicted_at - admitted, "s", note=f"waitForPodsReady {WAIT_FOR_PODS_READY}")
    if requeue.requeue_at is not None:
        record.figure("requeue_backoff", requeue.requeue_at - requeue.evicted_at, "s")
    record.evidence(f"workload {name}: admitted, evicted for PodsReadyTimeout and requeued")


def test_higher_priority_group_preempts_a_lower_one_as_a_unit(
    kube: Clients, namespace: str, layout: GpuLayout, record: CheckRecord
) -> None:
    """A higher-priority group preempts a lower one as a unit"""
    size = layout.nodes  # each group takes every GPU
    lwss = ["low", "high"]
    pods = partial(group_pods, kube, namespace, lwss)
    binding = Binding(size)
    create(kube, queued(gpu_group("low", size), QUEUE, LOW), namespace)
    watch_until_whole(pods, ["low-0"], "low-0", binding, timeout=180)
    low_uids = {p.metadata.uid for p in pods()["low-0"]}
    started = time.time()
    record.event("high-priority group submitted", started)
    create(kube, queued(gpu_group("high", size), QUEUE, HIGH), namespace)
    seconds = watch_until_whole(pods, ["low-0", "high-0"], "high-0", binding, timeout=180)
    record_binding(record, binding)
    check_preempted_as_unit(binding, "low-0", "high-0", HOLD)
    left = {p.metadata.uid for p in pods().get("low-0", []) if p.spec.node_name}
    evicted = len(low_uids - left)
    record.figure("pods_evicted.low-0", evicted, "pods")
    record.figure("preemption_to_whole", seconds, "s", note="high-priority group submitted -> whole on nodes")
    wl = workload(kube, namespace, workload_of(kube, namespace, "low", "low-0"))
    evicted_condition = condition(wl, "Evicted") or {}
    record.evidence(f"low-0: {evicted}/{size} pods evicted; {evicted_condition.get('reason')}")
    assert evicted == size, f"low-0: {evicted}/{size} of its pods evicted"


def test_native_gang_scheduling(kube: Clients, namespace: str, layout: GpuLayout, record: CheckRecord) -> None:
    """Native gang scheduling (Workload/PodGroup API) admits a group that does not fit not at all"""
    versions = served_versions(kube, "scheduling.k8s.io", "podgroups")
    if not versions:
        record.not_applicable(
            "the API server does not serve scheduling.k8s.io PodGroups (on Kubernetes 1.37: feature gate "
            "GenericWorkload and runtimeConfig scheduling.k8s.io/v1beta1: 'true' in the testbed spec)"
        )
    size = layout.nodes + 1
    for obj in native_gang("native", size, f"scheduling.k8s.io/{versions[-1]}"):
        create(kube, obj, namespace)
    binding = watch_binding(partial(native_pods, kube, namespace, "native"), ["native"], size, OBSERVE)
    record_binding(record, binding)
    check_whole_or_nothing(binding, HOLD)
