"""Negative controls for the gang checks (suites/test_gang.py): the suite's scenarios
(harness/scenarios/gang.py), each with one change, and the check fails naming why.

- whole or nothing, competing groups: the groups not queued (`queued=False`): the scheduler binds the
  members that fit and leaves the rest Pending, holding GPUs: "partial placement";
- requeue: Kueue without waitForPodsReady (this module's Kueue): "admitted but never evicted";
- preemption: the second group at the first one's priority: nothing is preempted;
- native gang: the same pods without their PodGroup: "partial placement".

The module's Kueue runs with the default options (no waitForPodsReady): that is the requeue
control's change; the other checks' outcome does not depend on it (no group here waits for Ready).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.checks import CheckFailed
from harness.checks.gang import (
    check_evicted_and_requeued,
    check_one_whole_others_wait,
    check_preempted_as_unit,
    check_whole_or_nothing,
    served_versions,
    wait_admitted,
    watch_binding,
)
from harness.cluster.testbed import TestbedCluster
from harness.dra.profile import DeviceProfile
from harness.kube.client import Clients
from harness.scenarios import gang as scenarios
from harness.scenarios.gang import HOLD, OBSERVE, Quota
from harness.stack import StackFigures

pytestmark = pytest.mark.gang


@pytest.fixture(scope="module")
def quota(testbed: TestbedCluster, kube: Clients, stack: StackFigures, devices: DeviceProfile) -> Iterator[Quota]:
    with scenarios.gpu_quota(testbed, kube, "llmc-gang-neg", wait_for_pods_ready=None, devices=devices) as quota:
        yield quota


@pytest.fixture
def namespace(kube: Clients, quota: Quota) -> Iterator[str]:
    with scenarios.gang_namespace(kube, quota, "gang-neg") as ns:
        yield ns


def test_whole_or_nothing_fails_without_kueue(kube: Clients, namespace: str, quota: Quota) -> None:
    binding = scenarios.group_that_does_not_fit(kube, namespace, quota, queued=False)
    nodes = quota.layout.nodes
    with pytest.raises(CheckFailed, match=rf"group big-0: {nodes}/{nodes + 1} pods bound for \d+ s: partial placement"):
        check_whole_or_nothing(binding, HOLD)


def test_one_whole_others_wait_fails_without_kueue(kube: Clients, namespace: str, quota: Quota) -> None:
    run = scenarios.competing_groups(kube, namespace, quota, queued=False)
    with pytest.raises(CheckFailed, match=r"pods bound for \d+ s: partial placement"):
        check_one_whole_others_wait(run.binding, HOLD)


def test_requeue_fails_without_wait_for_pods_ready(kube: Clients, namespace: str) -> None:
    name = scenarios.stuck_group(kube, namespace)
    wait_admitted(kube, namespace, name)
    with pytest.raises(CheckFailed, match="admitted but never evicted: the group hangs"):
        check_evicted_and_requeued(kube, namespace, name, timeout=45)


def test_preempted_as_unit_fails_with_equal_priorities(kube: Clients, namespace: str, quota: Quota) -> None:
    run = scenarios.preempting_groups(kube, namespace, quota, high_priority=quota.low)
    # The suite waits (bounded) for the high group to be whole; here it never is: sample a window.
    watch_binding(run.pods, ["low-0", "high-0"], run.binding.size, OBSERVE, run.binding)
    size = quota.layout.nodes
    with pytest.raises(
        CheckFailed,
        match=rf"want high-0 whole and low-0 fully evicted: low-0: {size}/{size} bound, {size} created, "
        rf"high-0: 0/{size} bound",
    ):
        check_preempted_as_unit(run.binding, "low-0", "high-0", HOLD)


def test_native_whole_or_nothing_fails_without_a_pod_group(kube: Clients, namespace: str, quota: Quota) -> None:
    if not served_versions(kube, "scheduling.k8s.io", "podgroups"):
        pytest.skip("the API server does not serve scheduling.k8s.io PodGroups: the suite's check does not run")
    binding = scenarios.native_group(kube, namespace, quota, pod_group_api=None)
    nodes = quota.layout.nodes
    with pytest.raises(
        CheckFailed, match=rf"group native: {nodes}/{nodes + 1} pods bound for \d+ s: partial placement"
    ):
        check_whole_or_nothing(binding, HOLD)
