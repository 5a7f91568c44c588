"""Negative controls for the restart checks (suites/test_restart.py): with `restartPolicy: None` a
killed worker is replaced alone, cannot rejoin the old ring, and the group stays broken; with
`startupPolicy: LeaderCreated` workers are created before their leader is Ready."""

from __future__ import annotations

import pytest

from harness.checks import CheckFailed
from harness.checks.restart import check_group_recreated, check_workers_after_leader_ready, wait_group_formed
from harness.cluster.testbed import TestbedCluster
from harness.kube.client import Clients
from harness.kube.namespaces import scratch_namespace
from harness.stack import StackFigures
from harness.workloads.images import build_mock_vllm
from harness.workloads.manifests import Engine, mock_vllm_lws
from harness.workloads.queues import create
from harness.workloads.readiness import ready_when_listening

pytestmark = pytest.mark.restart
ENGINE = Engine(inter_token_latency_ms=5, shutdown_timeout_seconds=2, termination_grace_period_seconds=5)


@pytest.fixture(scope="module", autouse=True)
def images(testbed: TestbedCluster, stack: StackFigures) -> None:
    testbed.load_images([build_mock_vllm()])


def test_group_recreated_fails_with_restart_policy_none(kube: Clients) -> None:
    with scratch_namespace(kube.core, "restart-neg") as ns:
        create(kube, mock_vllm_lws("frail", size=2, engine=ENGINE, restart_policy="None"), ns)
        before = wait_group_formed(kube, ns, "frail", 0, 2, timeout=180)
        kube.core.delete_namespaced_pod("frail-0-1", ns, grace_period_seconds=0)
        with pytest.raises(CheckFailed, match=r"pods that kept their UIDs: \['frail-0'\].*leader ring broken"):
            check_group_recreated(kube, ns, "frail", 0, 2, before, timeout=45)


def test_workers_after_leader_ready_fails_with_leader_created(kube: Clients) -> None:
    lws = ready_when_listening(mock_vllm_lws("eager", size=3, engine=ENGINE, startup_policy="LeaderCreated"), 3)
    with scratch_namespace(kube.core, "startup-neg") as ns:
        create(kube, lws, ns)
        wait_group_formed(kube, ns, "eager", 0, 3, timeout=180)
        with pytest.raises(
            CheckFailed, match=r"workers created before leader eager-0 was Ready .*eager-0-1 \d+ s before"
        ):
            check_workers_after_leader_ready(kube, ns, "eager", 0)
