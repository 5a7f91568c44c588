"""DRA with the cluster's devices, through the device profile (harness/dra/profile.py: the testbed's
driver, or what an existing cluster publishes): the real scheduler allocates GPUs and NICs as the
claims' constraints say (NVLink clique, NUMA node, PCIe root), a pod sees the devices it was given,
and a claim no node can satisfy is refused. A check whose constraint names an attribute the devices
do not publish is not applicable, naming it.

Negative controls: tests/cluster/test_dra_negative.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from harness import timeouts
from harness.checks import NotApplicable
from harness.checks.dra import check_aligned, check_sees_devices, check_stays_pending
from harness.cluster.testbed import TestbedCluster
from harness.dra.claims import NUMA, Claim
from harness.dra.profile import DeviceProfile
from harness.kube.client import Clients
from harness.kube.namespaces import scratch_namespace
from harness.kube.pods import wait_ready
from harness.report.record import CheckRecord
from harness.scenarios.dra import numa_claim, nvlink_claim, pcie_claim, release, submit
from harness.spec.model import Node
from harness.topology.allocations import Allocated, wait_allocated

pytestmark = pytest.mark.dra


@pytest.fixture(scope="module")
def namespace(kube: Clients, devices: DeviceProfile) -> Iterator[str]:
    with scratch_namespace(kube.core, "dra") as ns:
        yield ns


def gpu_workers(testbed: TestbedCluster) -> list[Node]:
    """The workers with GPUs (on an existing cluster, not every worker has some)."""
    workers = [w for w in testbed.spec.workers if w.hardware and w.hardware.gpu_count]
    if not workers:
        raise NotApplicable(f"no worker of {testbed.spec.name} has GPUs")
    return workers


def most_gpus_on_one_numa(testbed: TestbedCluster) -> int:
    return max(
        sum(sw.gpus for sw in numa) for w in testbed.spec.workers if w.hardware for numa in w.hardware.numa_nodes
    )


def most_gpus_on_one_node(testbed: TestbedCluster) -> int:
    return max(w.hardware.gpu_count for w in testbed.spec.workers if w.hardware)


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


def allocate_aligned(
    kube: Clients, testbed: TestbedCluster, namespace: str, record: CheckRecord, claim: Claim, node: str, attribute: str
) -> None:
    """The claim's pod on `node`, its allocation recorded and judged aligned on `attribute`; released after."""
    claim_name, pod = submit(kube, namespace, claim, node)
    try:
        allocated, seconds = wait_allocated(kube, namespace, claim_name, pod)
        record_allocation(record, testbed, pod, allocated, seconds)
        check_aligned(allocated, attribute)
    finally:
        release(kube, namespace, claim_name, pod)


def test_two_gpus_in_one_nvlink_clique(
    kube: Clients, testbed: TestbedCluster, devices: DeviceProfile, namespace: str, record: CheckRecord
) -> None:
    """Two GPUs asked for in one NVLink clique are allocated in one clique"""
    worker = gpu_workers(testbed)[0]
    assert worker.hardware is not None
    claim, pod = submit(kube, namespace, nvlink_claim(worker.hardware, devices=devices), worker.name)
    try:
        allocated, seconds = wait_allocated(kube, namespace, claim, pod)
        record_allocation(record, testbed, pod, allocated, seconds)
        assert [d.request for d in allocated] == ["gpu", "gpu"]
        check_aligned(allocated, devices.attribute("interconnect"))
    finally:
        release(kube, namespace, claim, pod)  # the node's GPUs are needed by the checks after this one


def test_gpu_and_nic_on_one_numa_node(
    kube: Clients, testbed: TestbedCluster, devices: DeviceProfile, namespace: str, record: CheckRecord
) -> None:
    """A GPU and a NIC asked for on one NUMA node are allocated on one NUMA node"""
    node = gpu_workers(testbed)[0].name
    allocate_aligned(kube, testbed, namespace, record, numa_claim(devices=devices), node, devices.attribute("numa"))


def test_gpus_under_one_pcie_root(
    kube: Clients, testbed: TestbedCluster, devices: DeviceProfile, namespace: str, record: CheckRecord
) -> None:
    """Two GPUs asked for under one PCIe root are allocated under one PCIe root"""
    node = gpu_workers(testbed)[-1].name
    allocate_aligned(
        kube, testbed, namespace, record, pcie_claim(devices=devices), node, devices.attribute("pcie_root")
    )


def test_pod_with_a_claim_runs_with_its_devices_in_env(
    kube: Clients, testbed: TestbedCluster, devices: DeviceProfile, namespace: str, record: CheckRecord
) -> None:
    """A pod with a GPU claim (and a NIC on the GPUs' NUMA node, where the devices have both)
    starts, and sees exactly the devices allocated"""
    node = gpu_workers(testbed)[-1]
    started = time.monotonic()
    claim = Claim("env", devices).gpus(2)
    if devices.nic_class and devices.numa:
        claim.nics(1).match(devices.numa)
    claim_name, pod = submit(kube, namespace, claim, node.name)
    try:
        allocated, seconds = wait_allocated(kube, namespace, claim_name, pod)
        record_allocation(record, testbed, pod, allocated, seconds)
        wait_ready(kube.core, namespace, [pod], timeout=timeouts.POD_READY)
        record.figure("pod_ready", time.monotonic() - started, "s", note="pod with a device claim: created -> Ready")
        log = kube.core.read_namespaced_pod_log(pod, namespace)
        record.evidence(
            f"{pod} sees ({devices.container}): " + check_sees_devices(devices, claim_name, allocated, log, node.rack)
        )
    finally:
        release(kube, namespace, claim_name, pod)


def test_unsatisfiable_claim_stays_pending_with_reason(
    kube: Clients, testbed: TestbedCluster, devices: DeviceProfile, namespace: str, record: CheckRecord
) -> None:
    """A claim no node can satisfy stays pending, and the scheduler says why (more GPUs on one NUMA
    node than any has, or where the devices publish no NUMA node, more than any node has)"""
    if devices.numa:
        too_many = Claim("too-many", devices).gpus(most_gpus_on_one_numa(testbed) + 1).match(devices.numa)
    else:
        too_many = Claim("too-many", devices).gpus(most_gpus_on_one_node(testbed) + 1)
    claim, pod = submit(kube, namespace, too_many)
    reason = check_stays_pending(kube, namespace, claim, pod)
    assert "cannot allocate all claims" in reason, reason
    record.evidence(f"pod {pod}: {reason}")
