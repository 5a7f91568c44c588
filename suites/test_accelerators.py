"""Accelerators (AI conformance: secure_accelerator_access, accelerator_metrics): a container reaches
the GPUs its claim gave it and no others, and the per-GPU metrics the driver exports (DCGM names,
scraped by the testbed's Prometheus) follow what the engines holding the GPUs do.

Negative controls: tests/cluster/test_accelerators_negative.py.
"""

from __future__ import annotations

import pytest
from fake_gpu.personality import Personality

from harness.checks.accelerators import check_metrics_follow_load, check_sees_only_its_own
from harness.cluster.testbed import TestbedCluster
from harness.dra import DriverFigures
from harness.kube.client import Clients
from harness.kube.namespaces import scratch_namespace
from harness.report.record import CheckRecord
from harness.scenarios import accelerators as scenarios

pytestmark = pytest.mark.accelerators


@pytest.fixture(scope="module")
def personality(kube: Clients, fake_gpu: DriverFigures) -> Personality:
    return scenarios.installed_personality(kube)


def test_secure_accelerator_access(
    kube: Clients, testbed: TestbedCluster, personality: Personality, record: CheckRecord
) -> None:
    """A container sees only its claim's GPUs: none without a claim, in a sibling container, or of another pod"""
    node = scenarios.gpu_worker(testbed.spec)
    with (
        scratch_namespace(kube.core, "access") as ns,
        record.step(f"probe pods on {node}: unclaimed, sibling container, two claimed", kind="observe"),
    ):
        observations = scenarios.access(kube, ns, node, personality)
    for seen, _ in observations:
        record.evidence(str(seen))
    record.figure("containers_probed", len(observations), "")
    check_sees_only_its_own(observations)


def test_accelerator_metrics(
    kube: Clients,
    testbed: TestbedCluster,
    personality: Personality,
    mock_vllm: str,
    record: CheckRecord,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Every allocated GPU's utilisation and memory reach Prometheus; utilisation rises under load, falls after"""
    out = tmp_path_factory.mktemp("accelerator-load")
    with scratch_namespace(kube.core, "metrics") as ns:
        with record.step("engines holding GPUs Ready", kind="setup"):
            held = scenarios.engines(kube, testbed.spec, ns, personality)
        with record.step("GPU metrics before, under and after load", kind="observe"):
            series, load = scenarios.observe(kube, held, scenarios.load(testbed.spec), out)
    if load is not None:
        record.load(load, out)
    for h in held:
        s = series[h.uuid]
        record.evidence(f"{h}: util before {s.util_before} %, peak {s.util_peak} %, after {s.util_after} %, "
                        f"memory used {s.memory_used_mib} MiB")  # fmt: skip
    for name, value in check_metrics_follow_load(held, series).items():
        record.figure(name, value, "%" if "util" in name else "")
