"""Negative controls for the accelerator checks (suites/test_accelerators.py): each check, run on the
suite's set-up (harness/scenarios/accelerators.py) with one thing changed, fails and says why."""

from __future__ import annotations

import pytest

from harness.checks import CheckFailed
from harness.checks.accelerators import check_metrics_follow_load, check_sees_only_its_own
from harness.cluster.testbed import TestbedCluster
from harness.dra import DriverFigures
from harness.kube.client import Clients
from harness.kube.namespaces import scratch_namespace
from harness.scenarios import accelerators as scenarios

pytestmark = pytest.mark.accelerators


def test_access_check_fails_for_a_pod_reaching_the_nodes_devices(
    kube: Clients, testbed: TestbedCluster, fake_gpu: DriverFigures
) -> None:
    # The unclaimed pod privileged with the node's /dev mounted: it finds the GPUs' device nodes.
    personality = scenarios.installed_personality(kube)
    with scratch_namespace(kube.core, "access-neg") as ns:
        observations = scenarios.access(kube, ns, scenarios.gpu_worker(testbed.spec), personality, reach_devices=True)
    with pytest.raises(CheckFailed, match=r"no-claim/probe: device nodes \[.*" + personality.device_node_prefix):
        check_sees_only_its_own(observations)


def test_metrics_check_fails_for_gpus_held_by_idle_engines(
    kube: Clients,
    testbed: TestbedCluster,
    fake_gpu: DriverFigures,
    mock_vllm: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # The same engines and window, no load: utilisation never rises.
    personality = scenarios.installed_personality(kube)
    with scratch_namespace(kube.core, "metrics-neg") as ns:
        held = scenarios.engines(kube, testbed.spec, ns, personality)
        series, _ = scenarios.observe(kube, held, None, tmp_path_factory.mktemp("idle"))
    with pytest.raises(CheckFailed, match=rf"GPU {held[0].uuid} .*utilisation under load peaked at 0"):
        check_metrics_follow_load(held, series)
