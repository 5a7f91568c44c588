"""DRA with the fake topology driver: the real scheduler allocates GPUs and NICs as the claims'
constraints say (NVLink clique, NUMA node, PCIe root), and refuses a claim no node can satisfy.

Negative controls: tests/cluster/test_dra_negative.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from harness import timeouts
from harness.checks.dra import (
    check_aligned,
    check_env_matches,
    check_stays_pending,
    placement_env,
)
from harness.cluster.testbed import TestbedCluster
from harness.dra import install_fake_gpu
from harness.dra.claims import NUMA, NVLINK_CLIQUE, PCIE_ROOT, Claim
from harness.kube.client import Clients
from harness.kube.namespaces import scratch_namespace
from harness.kube.pods import wait_ready
from harness.report.record import CheckRecord
from harness.scenarios.dra import numa_claim, nvlink_claim, pcie_claim, release, submit
from harness.topology.allocations import Allocated, wait_allocated

pytestmark = pytest.mark.dra


@pytest.fixture(scope="module")
def namespace(kube: Clients, testbed: TestbedCluster) -> Iterator[str]:
    install_fake_gpu(testbed)
    with scratch_namespace(kube.core, "dra") as ns:
        yield ns


def most_gpus_on_one_numa(testbed: TestbedCluster) -> int:
    return max(
        sum(sw.gpus for sw in numa) for w in testbed.spec.workers if w.hardware for numa in w.hardware.numa_nodes
    )


def record_allocation(
    record: CheckRecord, testbed: TestbedCluster, pod: str, devices: list[Allocated], s: float
) -> None:
    """The claim's allocation time, and where its devices are (the report's placement map)."""
    record.figure("allocation", s, "s", note="claim and pod created -> claim allocated")
    racks = {n.name: n.rack or "-" for n in testbed.spec.nodes}
    for d in devices:
        numa = d.attributes.get(NUMA)
        record.placement(pod, racks.get(d.node, "-"), d.node, None if numa is None else int(numa), [d.device], pod)
    record.evidence(f"{pod}: " + ", ".join(f"{d} (NUMA {d.attributes.get(NUMA)})" for d in devices))


def test_two_gpus_in_one_nvlink_clique(
    kube: Clients, testbed: TestbedCluster, namespace: str, record: CheckRecord
) -> None:
    """Two GPUs asked for in one NVLink clique are allocated in one clique"""
    worker = testbed.spec.workers[0]
    assert worker.hardware is not None
    claim, pod = submit(kube, namespace, nvlink_claim(worker.hardware), worker.name)
    try:
        devices, seconds = wait_allocated(kube, namespace, claim, pod)
        record_allocation(record, testbed, pod, devices, seconds)
        assert [d.request for d in devices] == ["gpu", "gpu"]
        check_aligned(devices, NVLINK_CLIQUE)
    finally:
        release(kube, namespace, claim, pod)  # the node's GPUs are needed by the checks after this one


def test_gpu_and_nic_on_one_numa_node(
    kube: Clients, testbed: TestbedCluster, namespace: str, record: CheckRecord
) -> None:
    """A GPU and a NIC asked for on one NUMA node are allocated on one NUMA node"""
    node = testbed.spec.workers[0].name
    claim_name, pod = submit(kube, namespace, numa_claim(), node)
    devices, seconds = wait_allocated(kube, namespace, claim_name, pod)
    record_allocation(record, testbed, pod, devices, seconds)
    check_aligned(devices, NUMA)


def test_gpus_under_one_pcie_root(kube: Clients, testbed: TestbedCluster, namespace: str, record: CheckRecord) -> None:
    """Two GPUs asked for under one PCIe root are allocated under one PCIe root"""
    node = testbed.spec.workers[-1].name
    claim_name, pod = submit(kube, namespace, pcie_claim(), node)
    devices, seconds = wait_allocated(kube, namespace, claim_name, pod)
    record_allocation(record, testbed, pod, devices, seconds)
    check_aligned(devices, PCIE_ROOT)


def test_pod_with_a_claim_runs_with_its_devices_in_env(
    kube: Clients, testbed: TestbedCluster, namespace: str, record: CheckRecord
) -> None:
    """A pod with a GPU+NIC claim starts, and its environment names exactly the devices allocated"""
    node = testbed.spec.workers[-1]
    started = time.monotonic()
    claim_name, pod = submit(kube, namespace, Claim("env").gpus(2).nics(1).match(NUMA), node.name)
    devices, seconds = wait_allocated(kube, namespace, claim_name, pod)
    record_allocation(record, testbed, pod, devices, seconds)
    wait_ready(kube.core, namespace, [pod], timeout=timeouts.POD_READY)
    record.figure("pod_ready", time.monotonic() - started, "s", note="pod with a GPU+NIC claim: created -> Ready")
    check_env_matches(devices, placement_env(kube, namespace, pod), node.rack)


def test_unsatisfiable_claim_stays_pending_with_reason(
    kube: Clients, testbed: TestbedCluster, namespace: str, record: CheckRecord
) -> None:
    """A claim no node can satisfy stays pending, and the scheduler says why"""
    claim, pod = submit(kube, namespace, Claim("too-many").gpus(most_gpus_on_one_numa(testbed) + 1).match(NUMA))
    reason = check_stays_pending(kube, namespace, claim, pod)
    assert "cannot allocate all claims" in reason, reason
    record.evidence(f"pod {pod}: {reason}")
