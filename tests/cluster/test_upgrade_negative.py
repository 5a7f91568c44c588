"""Negative controls for the upgrade checks (suites/test_upgrade.py): each runs the suite's set-up
(harness/scenarios/upgrade.py) with one thing changed, and expects the check to fail for that reason.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness import timeouts
from harness.checks import CheckFailed, upgrade
from harness.cluster.testbed import TestbedCluster
from harness.kube import drain
from harness.kube.client import Clients
from harness.kube.namespaces import scratch_namespace
from harness.load import background
from harness.scenarios.upgrade import (
    DRAIN_REQUEST_TIMEOUT,
    DRAIN_USERS,
    drained_groups,
    lightest_node,
    load_spec,
    new_template_env,
    pod_budget,
    rolling_groups,
    serving_groups,
    spread_groups,
    wait_traffic,
)
from harness.serving import inference

pytestmark = [pytest.mark.upgrade, pytest.mark.disruptive]


@pytest.fixture
def namespace(kube: Clients, mock_vllm: str) -> Iterator[str]:
    with scratch_namespace(kube.core, "upgrade-neg") as ns:
        yield ns


def test_drain_check_fails_without_pre_stop(
    kube: Clients, testbed: TestbedCluster, namespace: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The suite's drain with no preStop on leaders or workers and the default 30 s grace period: the
    leader stops while still an endpoint, its workers leave at once and break its ring."""
    svc = drained_groups(kube, testbed, namespace, pre_stop=False)
    node = lightest_node(kube, svc)
    out = tmp_path_factory.mktemp("no-pre-stop-drain")
    spec = load_spec(testbed, duration=90, users=DRAIN_USERS, request_timeout=DRAIN_REQUEST_TIMEOUT)
    with background(spec, out) as load:
        wait_traffic(out)
        with drain.cordoned(kube.core, node):
            load.mark(f"drain {node}")
            drain.drain(kube.core, namespace, node, timeout=120)
        # Not waiting for the groups to be whole again, as the suite does: without preStops a drained
        # group was seen not to re-form its ring within 180 s; the verdict is the load's, to its end.
        load.wait(timeout=spec.duration + 60)
    with pytest.raises(CheckFailed, match=rf"drain of {node}: [1-9]\d* of \d+ requests failed"):
        upgrade.no_request_lost(load.result(), out, f"drain of {node}")


def test_rollout_check_fails_when_max_unavailable_covers_every_group(
    kube: Clients, testbed: TestbedCluster, namespace: str
) -> None:
    """The suite's rollout with maxUnavailable = every group and maxSurge 0: all groups go at once,
    and for a while no leader serves."""
    count = serving_groups(testbed)
    svc, lws = rolling_groups(kube, testbed, namespace, max_unavailable=count, max_surge=0)
    old = inference.revision(kube, svc)
    with svc.observe(kube) as timeline:
        inference.patch_lws(kube, svc, new_template_env("LLMC_RELEASE", "2", lws))
        new = inference.wait_rolled(kube, svc, count, old, timeout=180)
    with pytest.raises(CheckFailed, match=rf"{count} of {count} groups unavailable at once .* allowed 1"):
        upgrade.rolled_by_whole_groups(timeline, count, max_unavailable=1, max_surge=0, new_revision=new)
    # The same rollout judged against its own maxUnavailable: the keeps-serving branch names the outage.
    with pytest.raises(CheckFailed, match=r"no group served \(no ready leader endpoint\) for \d+\.\d s"):
        upgrade.rolled_by_whole_groups(timeline, count, max_unavailable=count, max_surge=0, new_revision=new)


def test_budget_gap_check_fails_under_a_budget_of_one_pod(
    kube: Clients, testbed: TestbedCluster, namespace: str
) -> None:
    """The suite's plain drain under a pod-level budget of one pod instead of one group's pods: the
    budget lets one pod go at a time, so at most one group is down and no gap shows."""
    svc, node = spread_groups(kube, testbed, namespace)
    count = len(testbed.spec.workers)
    inference.create(kube, pod_budget(svc, max_unavailable=1), namespace)
    with svc.observe(kube) as timeline, drain.cordoned(kube.core, node):
        drain.drain(kube.core, namespace, node, timeout=240)
        inference.wait_whole(kube, svc, count, timeout=timeouts.GROUP_WHOLE)
    with pytest.raises(CheckFailed, match=rf"at most 1 of {count} groups unavailable at once: .*no gap shown"):
        upgrade.pod_budget_gap(timeline, count, f"drain of {node} under a budget of one pod")
