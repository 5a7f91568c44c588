"""Topology placement: groups on racks (LWS exclusive topology, Kueue topology-aware scheduling),
devices on NUMA nodes, PCIe switches and NVLink cliques (DRA constraints), and what misplacement
costs in inter-token latency. Every check records the placement map (group → rack → node → NUMA →
devices). Devices are claimed through the device profile (harness/dra/profile.py): a constraint on an
attribute the cluster's devices do not publish is not applicable, naming it.

Negative controls: tests/cluster/test_topology_negative.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.checks import NotApplicable
from harness.checks.topology import (
    WAITS_WHOLE,
    check_all_aligned,
    check_exclusive_racks,
    check_groups_within_one_rack,
    check_misplacement_costs,
    check_waits_whole,
)
from harness.cluster.testbed import TestbedCluster
from harness.dra.profile import DeviceProfile
from harness.kube.client import Clients
from harness.kube.namespaces import scratch_namespace
from harness.report.record import CheckRecord
from harness.scenarios import topology as scenarios
from harness.scenarios.topology import allocate
from harness.topology.claims import layout
from harness.topology.placement import placement_map, pod_name, record_placement

pytestmark = pytest.mark.topology


@pytest.fixture(scope="module")
def ready(testbed: TestbedCluster, devices: DeviceProfile, mock_vllm: str) -> TestbedCluster:
    return testbed


@pytest.fixture
def namespace(kube: Clients, ready: TestbedCluster) -> Iterator[str]:
    with scratch_namespace(kube.core, "topology") as ns:
        yield ns


def test_exclusive_topology_one_group_per_rack(
    kube: Clients, ready: TestbedCluster, namespace: str, record: CheckRecord
) -> None:
    """With LWS exclusive topology on the rack label, each group gets a rack of its own and a group
    with no free rack waits whole"""
    racks = scenarios.racks(ready.spec)
    if len(racks) < 2:
        record.not_applicable(f"one rack ({racks}): nothing to keep groups apart")
    run = scenarios.exclusive_groups(kube, namespace, groups=len(racks) + 1, exclusive=True)
    with record.step(f"{len(racks)} of {len(racks) + 1} groups placed", kind="wait"):
        placed, waiting = scenarios.wait_placed(kube, namespace, run, whole_groups=len(racks))
    record.figure("groups_bound_seconds", scenarios.bound_seconds(kube, namespace, run.selector), "s")
    members = [m for m in placement_map(kube, namespace, run.selector) if m.group in placed]
    record_placement(record, members)
    by_rack = check_exclusive_racks(members)
    record.evidence(f"groups → racks: {by_rack}")
    for group in waiting:
        with record.step(f"group {group} waits whole", kind="observe"):
            reason = check_waits_whole(kube, namespace, group, run.group_selector(group), hold=WAITS_WHOLE)
        record.evidence(f"group {group} waits whole: {reason}")
    per_rack = [list(by_rack.values()).count(rack) for rack in set(by_rack.values())]
    record.figure("groups_per_rack_max", max(per_rack), "groups")
    record.figure("groups_waiting", len(waiting), "groups")


def test_kueue_topology_aware_scheduling_keeps_a_group_in_one_rack(
    kube: Clients, ready: TestbedCluster, namespace: str, record: CheckRecord
) -> None:
    """Kueue topology-aware scheduling with podset-required-topology on the rack keeps each group
    within one rack, against the members' own wish to spread"""
    racks = scenarios.racks(ready.spec)
    if len(racks) < 2:
        record.not_applicable(f"one rack ({racks}): a group cannot span racks here")
    with scenarios.kueue_topology(kube, namespace, ready.spec) as queue:
        run = scenarios.spreading_groups(kube, namespace, groups=len(racks), queue=queue)
        with record.step(f"{len(racks)} groups admitted and placed", kind="wait"):
            scenarios.wait_placed(kube, namespace, run, whole_groups=len(racks))
        record.figure("admitted_and_bound_seconds", scenarios.bound_seconds(kube, namespace, run.selector), "s")
        members = placement_map(kube, namespace, run.selector)
        record_placement(record, members)
        record.evidence(f"groups → racks: {check_groups_within_one_rack(members)}")
        record.evidence(f"Kueue's node selectors: {scenarios.injected_selectors(kube, namespace, run.selector)}")


@pytest.mark.parametrize("role", ["numa", "pcie_root", "interconnect"], ids=["numa", "pcie-root", "nvlink-clique"])
def test_dra_constraint_aligns_every_allocation(
    kube: Clients, ready: TestbedCluster, devices: DeviceProfile, namespace: str, record: CheckRecord, role: str
) -> None:
    """Claims with a matchAttribute constraint (NUMA node for GPU+NIC, PCIe root or NVLink clique for
    GPU pairs) are all aligned, over as many allocations as the testbed holds"""
    attribute = devices.attribute(role)
    rounds = layout(ready.spec, attribute, constrained=True, devices=devices)
    if not rounds:
        record.not_applicable(f"no worker has devices to lay out on {attribute}")
    with record.step(f"claims on {attribute} allocated", kind="wait"):
        count = allocate(kube, namespace, rounds)
    members = placement_map(kube, namespace, group_of=pod_name)
    record_placement(record, members)
    fraction = check_all_aligned(members, attribute)
    record.figure("allocations", count, "claims")
    record.figure("misaligned_fraction", fraction, "ratio")
    record.evidence(f"{count} claims on {attribute}, all aligned: " + "; ".join(str(m) for m in members))


def test_misplacement_costs_inter_token_latency(
    kube: Clients,
    ready: TestbedCluster,
    devices: DeviceProfile,
    placement_engine: str | None,
    namespace: str,
    record: CheckRecord,
) -> None:
    """The same load is faster on an aligned group (one rack, GPU and NIC on one NUMA node) than on a
    misplaced one (across racks, GPU and NIC on different NUMA nodes)"""
    if not devices.ours and not placement_engine:
        # The mock engine slows down by what the fake driver's LLMC_* env says of its placement;
        # another driver's devices say nothing it reads, so its latency cannot reflect placement.
        raise NotApplicable(
            f"needs an engine whose latency reflects placement: the mock engine's reflects only the harness's "
            f"fake driver, not {devices.accelerator_driver}; give one with --llmc-placement-engine IMAGE"
        )
    port = ready.endpoint()
    image = placement_engine or ""
    with record.step("an aligned group"):
        aligned = scenarios.latency_group(kube, namespace, ready.spec, "aligned", False, devices, image)
    with record.step("load on the aligned group", kind="observe"):
        aligned_load = scenarios.measure(kube, namespace, aligned, port, record)
    with record.step("the aligned group removed, a misplaced one"):
        scenarios.remove_group(kube, namespace, aligned)
        misplaced = scenarios.latency_group(kube, namespace, ready.spec, "misplaced", True, devices, image)
    with record.step("load on the misplaced group", kind="observe"):
        misplaced_load = scenarios.measure(kube, namespace, misplaced, port, record)
    for name, result in (("aligned", aligned_load), ("misplaced", misplaced_load)):
        record.figure(f"itl_p50_{name}", (result.itl.p50 or 0) * 1000, "ms")
        record.figure(f"itl_p90_{name}", (result.itl.p90 or 0) * 1000, "ms")
    ratio = check_misplacement_costs(aligned_load, misplaced_load)
    record.figure("itl_ratio_p50", ratio, "ratio", "misplaced / aligned inter-token latency p50")
