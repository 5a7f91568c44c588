"""Negative controls for the gang checks (suites/test_gang.py): the same GPU groups without Kueue are
placed partially (the scheduler binds the members that fit and leaves the rest Pending, holding
GPUs), and on Kueue without waitForPodsReady a group that never becomes Ready is never evicted."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import pytest

from harness.checks import CheckFailed
from harness.checks.gang import (
    check_evicted_and_requeued,
    check_one_whole_others_wait,
    check_whole_or_nothing,
    group_pods,
    native_pods,
    served_versions,
    wait_admitted,
    watch_binding,
    workload_of,
)
from harness.cluster.testbed import TestbedCluster
from harness.dra import install_fake_gpu
from harness.kube.client import Clients
from harness.kube.namespaces import scratch_namespace
from harness.stack import StackFigures, install_stack
from harness.workloads.gpu_groups import GpuLayout, gpu_group, native_gang
from harness.workloads.images import build_mock_vllm
from harness.workloads.queues import (
    cluster_objects,
    create,
    gpu_cluster_queue,
    local_queue,
    queued,
    resource_flavor,
)

pytestmark = pytest.mark.gang
OBSERVE, HOLD = 20, 10  # as in the suite
CQ, FLAVOR, QUEUE = "llmc-gang-neg-gpus", "llmc-gang-neg-flavor", "gpus"


@pytest.fixture(scope="module")
def layout(testbed: TestbedCluster, stack: StackFigures) -> GpuLayout:
    install_fake_gpu(testbed)
    testbed.load_images([build_mock_vllm()])
    install_stack(testbed)  # Kueue's defaults: no waitForPodsReady
    return GpuLayout.of(testbed.spec)


@pytest.fixture
def namespace(kube: Clients, layout: GpuLayout) -> Iterator[str]:
    with scratch_namespace(kube.core, "gang-neg") as ns:
        create(kube, layout.claim_template(), ns)
        yield ns


def test_whole_or_nothing_fails_without_kueue(kube: Clients, namespace: str, layout: GpuLayout) -> None:
    size = layout.nodes + 1
    create(kube, gpu_group("big", size), namespace)
    binding = watch_binding(partial(group_pods, kube, namespace, ["big"]), ["big-0"], size, OBSERVE)
    with pytest.raises(
        CheckFailed, match=rf"group big-0: {layout.nodes}/{size} pods bound for \d+ s: partial placement"
    ):
        check_whole_or_nothing(binding, HOLD)


def test_one_whole_others_wait_fails_without_kueue(kube: Clients, namespace: str, layout: GpuLayout) -> None:
    size = layout.nodes // 2 + 1
    lwss = ["first", "second"]
    for name in lwss:
        create(kube, gpu_group(name, size), namespace)
    groups = [f"{name}-0" for name in lwss]
    binding = watch_binding(partial(group_pods, kube, namespace, lwss), groups, size, OBSERVE)
    with pytest.raises(CheckFailed, match=r"pods bound for \d+ s: partial placement"):
        check_one_whole_others_wait(binding, HOLD)


def test_requeue_fails_without_wait_for_pods_ready(kube: Clients, namespace: str, layout: GpuLayout) -> None:
    with cluster_objects(kube, [resource_flavor(FLAVOR), gpu_cluster_queue(CQ, FLAVOR, layout.total)]):
        create(kube, local_queue(QUEUE, CQ), namespace)
        create(kube, queued(gpu_group("stuck", 2, readiness_path="/never-ready"), QUEUE), namespace)
        name = workload_of(kube, namespace, "stuck", "stuck-0")
        wait_admitted(kube, namespace, name)
        with pytest.raises(CheckFailed, match="admitted but never evicted: the group hangs"):
            check_evicted_and_requeued(kube, namespace, name, timeout=45)


def test_native_whole_or_nothing_fails_without_a_pod_group(kube: Clients, namespace: str, layout: GpuLayout) -> None:
    if not served_versions(kube, "scheduling.k8s.io", "podgroups"):
        pytest.skip("the API server does not serve scheduling.k8s.io PodGroups: the suite's check does not run")
    size = layout.nodes + 1
    for obj in native_gang("loose", size, api_version=None):
        create(kube, obj, namespace)
    binding = watch_binding(partial(native_pods, kube, namespace, "loose"), ["loose"], size, OBSERVE)
    with pytest.raises(
        CheckFailed, match=rf"group loose: {layout.nodes}/{size} pods bound for \d+ s: partial placement"
    ):
        check_whole_or_nothing(binding, HOLD)
