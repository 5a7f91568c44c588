"""The gang, dra and topology checks on testbeds whose devices come from drivers the checks were not
written for, each a kind cluster of its own (1 control plane + 2 workers), run in a subprocess as a
user runs the harness:

- clusters/dra-test-driver.yaml: Kubernetes' own DRA test driver (attribute-less devices, claim env):
  gang and the count-based dra checks pass, the topology checks on attributes are not applicable
  naming the attributes, and a gang negative control still fails its check on these devices;
- clusters/nvidia-like.yaml: the fake driver's NVIDIA-shaped personality (gpu.nvidia.com,
  /dev/nvidia<N>; like NVIDIA's driver, no NUMA and no NVLink attribute on its GPUs): gang, the dra
  checks and PCIe-root alignment pass, the NUMA and NVLink ones are not applicable naming those
  attributes; then, on the same cluster in existing-cluster mode (--llmc-kubeconfig/--llmc-context:
  nothing installed, the profile discovered), the dra checks give the same verdicts, none skipped for
  lack of the harness's driver.

Both runs skip what the default testbed already covers of those suites (the gang requeue, preemption
and native checks, the rack checks): they add about what two small testbeds cost.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.cluster.kind import Kind, resolve_kind
from harness.dra.profile import NUMA_NODE, NVIDIA, PCIE_ROOT, TEST_DRIVER
from harness.spec import load_spec

pytestmark = pytest.mark.lifecycle

ROOT = Path(__file__).resolve().parents[2]
GANG = [
    "suites/test_gang.py::test_group_that_does_not_fit_is_admitted_whole_or_not_at_all",
    "suites/test_gang.py::test_two_competing_groups_one_runs_whole_the_other_waits_whole",
]
DRA = ["suites/test_dra.py"]
TOPOLOGY = [
    "suites/test_topology.py::test_dra_constraint_aligns_every_allocation",
    "suites/test_topology.py::test_misplacement_costs_inter_token_latency",
]
GANG_CONTROL = "tests/cluster/test_gang_negative.py::test_whole_or_nothing_fails_without_kueue"
ENGINE_NOT_APPLICABLE = "needs an engine whose latency reflects placement"


def _run(target: list[str], tests: list[str], report: Path, timeout: float = 1800) -> tuple[dict[str, Any], str]:
    """pytest with the harness plugin on `target` (its options); the checks of results.json by test
    name (with its parameter), and pytest's output."""
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA", "--llmc-report-dir", str(report)]
    cmd += [*target, *tests]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    print(proc.stdout[-8000:], proc.stderr[-3000:])
    results = json.loads((report / "latest" / "results.json").read_text())
    return {c["nodeid"].rsplit("::", 1)[-1]: c for c in results["checks"]}, proc.stdout


def _verdicts(checks: dict[str, Any]) -> dict[str, str]:
    return {name: c["verdict"] for name, c in checks.items()}


def test_checks_on_the_kubernetes_dra_test_driver(tmp_path: Path) -> None:
    target = ["--llmc-testbed", "clusters/dra-test-driver.yaml"]
    checks, output = _run(target, [*GANG, *DRA, *TOPOLOGY, GANG_CONTROL], tmp_path)
    verdicts = _verdicts(checks)
    passed = [
        "test_group_that_does_not_fit_is_admitted_whole_or_not_at_all",
        "test_two_competing_groups_one_runs_whole_the_other_waits_whole",
        "test_pod_with_a_claim_runs_with_its_devices_in_env",
        "test_unsatisfiable_claim_stays_pending_with_reason",
    ]
    assert {name: verdicts.get(name) for name in passed} == dict.fromkeys(passed, "passed"), verdicts
    missing = {
        "test_two_gpus_in_one_nvlink_clique": f"{TEST_DRIVER}/nvlinkClique",
        "test_gpu_and_nic_on_one_numa_node": NUMA_NODE,
        "test_gpus_under_one_pcie_root": PCIE_ROOT,
        "test_dra_constraint_aligns_every_allocation[numa]": NUMA_NODE,
        "test_dra_constraint_aligns_every_allocation[pcie-root]": PCIE_ROOT,
        "test_dra_constraint_aligns_every_allocation[nvlink-clique]": f"{TEST_DRIVER}/nvlinkClique",
    }
    for name, attribute in missing.items():
        assert verdicts.get(name) == "not_applicable", (name, checks.get(name))
        assert attribute in checks[name]["reason"] and TEST_DRIVER in checks[name]["reason"], checks[name]
    misplacement = checks["test_misplacement_costs_inter_token_latency"]
    assert misplacement["verdict"] == "not_applicable" and ENGINE_NOT_APPLICABLE in misplacement["reason"]
    evidence = " ".join(checks["test_pod_with_a_claim_runs_with_its_devices_in_env"]["evidence"])
    assert "claim_env_gpu=true" in evidence, evidence
    # The negative control: the same group without Kueue binds partially on these devices too.
    assert f"PASSED {GANG_CONTROL}" in output, output[-4000:]


NVIDIA_PASSED = [
    "test_group_that_does_not_fit_is_admitted_whole_or_not_at_all",
    "test_two_competing_groups_one_runs_whole_the_other_waits_whole",
    "test_gpus_under_one_pcie_root",
    "test_pod_with_a_claim_runs_with_its_devices_in_env",
    "test_unsatisfiable_claim_stays_pending_with_reason",
    "test_dra_constraint_aligns_every_allocation[pcie-root]",
]
NVIDIA_MISSING = {
    "test_two_gpus_in_one_nvlink_clique": f"{NVIDIA}/nvlinkClique",
    "test_gpu_and_nic_on_one_numa_node": NUMA_NODE,
    "test_dra_constraint_aligns_every_allocation[numa]": NUMA_NODE,
    "test_dra_constraint_aligns_every_allocation[nvlink-clique]": f"{NVIDIA}/nvlinkClique",
}


def _assert_nvidia_verdicts(checks: dict[str, Any]) -> None:
    verdicts = _verdicts(checks)
    for name in NVIDIA_PASSED:
        assert verdicts.get(name, "passed") == "passed", (name, checks.get(name))
    for name, attribute in NVIDIA_MISSING.items():
        if name in checks:
            assert verdicts[name] == "not_applicable" and attribute in checks[name]["reason"], checks[name]
    assert not [c for c in checks.values() if "fake GPU driver" in (c.get("reason") or "")], verdicts


def test_checks_on_the_nvidia_shaped_driver(tmp_path: Path) -> None:
    spec = "clusters/nvidia-like.yaml"
    kind, name = Kind(resolve_kind()), load_spec(ROOT / spec).name
    try:
        testbed = ["--llmc-testbed", spec, "--llmc-keep-cluster"]
        checks, _ = _run(testbed, [*GANG, *DRA, *TOPOLOGY], tmp_path / "testbed")
        assert len(checks) == 11, _verdicts(checks)
        _assert_nvidia_verdicts(checks)
        misplacement = checks["test_misplacement_costs_inter_token_latency"]
        assert misplacement["verdict"] == "not_applicable" and ENGINE_NOT_APPLICABLE in misplacement["reason"]
        evidence = " ".join(checks["test_pod_with_a_claim_runs_with_its_devices_in_env"]["evidence"])
        assert "/dev/nvidia" in evidence, evidence

        kubeconfig = tmp_path / "kubeconfig"
        kind.export_kubeconfig(name, kubeconfig)
        existing = ["--llmc-kubeconfig", str(kubeconfig), "--llmc-context", f"kind-{name}"]
        checks, _ = _run(existing, DRA, tmp_path / "existing")
        assert len(checks) == 5, _verdicts(checks)
        _assert_nvidia_verdicts(checks)
    finally:
        subprocess.run([sys.executable, "-m", "harness", "cluster", "delete", spec], cwd=ROOT, timeout=600, check=False)
