"""DRA checks on allocations, scheduler verdicts and container environments made by hand."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest
from fake_gpu import DRIVER
from fake_gpu.slices import NUMA_ATTRIBUTE as NUMA

from harness.checks import CheckFailed, dra
from harness.checks.dra import (
    TYPE,
    PendingSeen,
    check_aligned,
    check_env_matches,
    check_pending,
    check_stays_pending,
    env_from_log,
)
from harness.kube.client import Clients
from harness.topology.allocations import Allocated, allocated_devices


def dev(name: str, kind: str, numa: int | None, node: str = "w1") -> Allocated:
    attributes: dict[str, Any] = {TYPE: kind}
    if numa is not None:
        attributes[NUMA] = numa
    return Allocated("devices", node, name, attributes)


def test_aligned() -> None:
    check_aligned([dev("gpu-0", "gpu", 0), dev("nic-0", "nic", 0)], NUMA)


@pytest.mark.parametrize(
    ("devices", "reason"),
    [
        ([dev("gpu-0", "gpu", 0)], rf"alignment on {NUMA} needs at least 2 devices; allocated: {{'w1/gpu-0': 0}}"),
        (
            [dev("gpu-2", "gpu", 1), dev("nic-0", "nic", 0)],
            rf"devices not aligned on {NUMA}: {{'w1/gpu-2': 1, 'w1/nic-0': 0}}",
        ),
        (
            [dev("gpu-0", "gpu", 0), dev("nic-0", "nic", None)],
            rf"devices not aligned on {NUMA}: {{'w1/gpu-0': 0, 'w1/nic-0': None}}",
        ),
    ],
    ids=["one-device", "different-values", "attribute-missing"],
)
def test_aligned_fails(devices: list[Allocated], reason: str) -> None:
    with pytest.raises(CheckFailed, match=f"^{reason}$"):
        check_aligned(devices, NUMA)


def test_allocated_devices_carry_their_published_attributes_qualified() -> None:
    allocation = {"devices": {"results": [{"request": "gpus", "driver": DRIVER, "pool": "w1", "device": "gpu-0"}]}}
    pools = {(DRIVER, "w1"): {"gpu-0": {"name": "gpu-0", "attributes": {"type": {"string": "gpu"}, NUMA: {"int": 1}}}}}
    assert allocated_devices(allocation, pools) == [Allocated("gpus", "w1", "gpu-0", {TYPE: "gpu", NUMA: 1})]


def test_env_from_log() -> None:
    log = "starting\nLLMC_GPUS=gpu-0,gpu-1\nLLMC_RACK=rack-1\nLLMC_BROKEN\nOTHER=1\n"
    assert env_from_log(log) == {"LLMC_GPUS": "gpu-0,gpu-1", "LLMC_RACK": "rack-1"}


DEVICES = [dev("gpu-0", "gpu", 0), dev("gpu-2", "gpu", 1), dev("nic-0", "nic", 0)]
ENV = {
    "LLMC_GPUS": "gpu-2,gpu-0",
    "LLMC_GPU_NUMA": "1,0",
    "LLMC_NICS": "nic-0",
    "LLMC_NIC_NUMA": "0",
    "LLMC_RACK": "rack-1",
}


def test_env_matches() -> None:
    check_env_matches(DEVICES, ENV, "rack-1")


@pytest.mark.parametrize(
    ("change", "rack"),
    [
        ({"LLMC_GPUS": "gpu-1,gpu-0"}, "rack-1"),  # another GPU
        ({"LLMC_GPU_NUMA": "0,0"}, "rack-1"),  # a GPU's NUMA node wrong
        ({"LLMC_NICS": "", "LLMC_NIC_NUMA": ""}, "rack-1"),  # the NIC missing
        ({}, "rack-2"),  # the node's rack
        ({"LLMC_RACK": None}, "rack-1"),  # no rack at all
    ],
    ids=["gpu", "gpu-numa", "nic", "rack", "no-rack"],
)
def test_env_matches_fails(change: dict[str, str | None], rack: str) -> None:
    env = {k: v for k, v in {**ENV, **change}.items() if v is not None}
    with pytest.raises(
        CheckFailed, match=r"does not match the allocation \['w1/gpu-0', 'w1/gpu-2', 'w1/nic-0'\]"
    ) as failed:
        check_env_matches(DEVICES, env, rack)
    assert f"want GPUs [('gpu-0', '0'), ('gpu-2', '1')], NICs [('nic-0', '0')], rack {rack}" in str(failed.value)
    assert str(env) in str(failed.value)


def test_env_matches_fails_on_lists_of_different_lengths() -> None:
    with pytest.raises(CheckFailed, match=r"LLMC_GPUS and LLMC_GPU_NUMA differ in length"):
        check_env_matches(DEVICES, {**ENV, "LLMC_GPU_NUMA": "1"}, "rack-1")


def test_pending() -> None:
    seen = PendingSeen("p", "", "0/4 nodes are available: 4 cannot allocate all claims.", None)
    assert check_pending("c", seen) == "0/4 nodes are available: 4 cannot allocate all claims."


@pytest.mark.parametrize(
    ("seen", "reason"),
    [
        (PendingSeen("p", "w1", None, {"devices": {}}), r"claim c was satisfied: pod p on w1, allocation \{'devices'"),
        (PendingSeen("p", "", "unschedulable", {"devices": {}}), r"claim c was satisfied: pod p on , allocation"),
        (PendingSeen("p", "", None, None), r"pod p is neither scheduled nor found Unschedulable"),
    ],
    ids=["scheduled", "allocated", "no-verdict"],
)
def test_pending_fails(seen: PendingSeen, reason: str) -> None:
    with pytest.raises(CheckFailed, match=reason):
        check_pending("c", seen)


def pod_api(node: str | None, conditions: list[Any]) -> Clients:
    pod = SimpleNamespace(
        spec=SimpleNamespace(node_name=node), status=SimpleNamespace(phase="Pending", conditions=conditions)
    )
    return cast(Clients, SimpleNamespace(core=SimpleNamespace(read_namespaced_pod=lambda name, namespace: pod)))


def test_stays_pending_reads_then_judges(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dra, "read_claim", lambda kube, namespace, name: {"status": {}})
    verdict = SimpleNamespace(type="PodScheduled", status="False", reason="Unschedulable", message="cannot allocate")
    assert check_stays_pending(pod_api(None, [verdict]), "ns", "c", "p") == "cannot allocate"
    monkeypatch.setattr(dra, "read_claim", lambda kube, namespace, name: {"status": {"allocation": {"devices": {}}}})
    with pytest.raises(CheckFailed, match="claim c was satisfied: pod p on w1"):
        check_stays_pending(pod_api("w1", []), "ns", "c", "p")


def test_stays_pending_propagates_a_broken_read_instead_of_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dra, "read_claim", lambda kube, namespace, name: {}["status"])
    with pytest.raises(KeyError):
        check_stays_pending(pod_api(None, []), "ns", "c", "p", timeout=30)
