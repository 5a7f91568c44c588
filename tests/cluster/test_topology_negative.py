"""Negative controls for the topology checks (suites/test_topology.py): each check, run on a setup
that lacks what it checks, fails with the evidence in its message.

- exclusive topology: the annotation removed (groups pinned to one rack, so they surely share it);
- Kueue topology-aware scheduling: the group not queued with a required topology, left to the
  scheduler and its members' wish to spread;
- DRA alignment: the same claim layouts without the matchAttribute constraint, and scalar mode;
- misplacement cost: two equally placed groups (the cost check must not pass on noise).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness import timeouts
from harness.checks import CheckFailed
from harness.checks.topology import (
    WAITS_WHOLE,
    check_all_aligned,
    check_exclusive_racks,
    check_groups_within_one_rack,
    check_misplacement_costs,
    check_waits_whole,
    misaligned,
)
from harness.cluster.testbed import TestbedCluster
from harness.dra.claims import NUMA, NVLINK_CLIQUE, PCIE_ROOT, claim_pod
from harness.dra.install import DriverFigures
from harness.dra.scalar import GPU_RESOURCE, NIC_RESOURCE, install_scalar
from harness.kube.client import Clients
from harness.kube.namespaces import scratch_namespace
from harness.kube.objects import create
from harness.kube.pods import wait_ready
from harness.report.record import CheckRecord
from harness.scenarios import topology as scenarios
from harness.scenarios.topology import allocate
from harness.topology.claims import layout
from harness.topology.placement import placement_map, pod_name

pytestmark = pytest.mark.topology


@pytest.fixture(scope="module")
def ready(testbed: TestbedCluster, fake_gpu: DriverFigures, mock_vllm: str) -> TestbedCluster:
    return testbed


@pytest.fixture
def namespace(kube: Clients, ready: TestbedCluster) -> Iterator[str]:
    with scratch_namespace(kube.core, "topology-neg") as ns:
        yield ns


def test_exclusive_check_fails_without_the_annotation(kube: Clients, ready: TestbedCluster, namespace: str) -> None:
    racks = scenarios.racks(ready.spec)
    if len(racks) < 2:
        pytest.skip(f"one rack ({racks}): the exclusive-topology check does not run here either")
    run = scenarios.exclusive_groups(kube, namespace, len(racks) + 1, exclusive=False, pin_rack=racks[0])
    placed, _ = scenarios.wait_placed(kube, namespace, run, whole_groups=run.groups)
    members = placement_map(kube, namespace, run.selector)
    with pytest.raises(CheckFailed, match=f"rack {racks[0]} hosts groups {', '.join(placed)}") as failed:
        check_exclusive_racks(members)
    print(f"check failed as expected: {failed.value}")
    # The group that should have waited (no free rack) runs: it does not wait whole either.
    with pytest.raises(
        CheckFailed, match=rf"group {placed[-1]} did not wait whole: {run.size}/{run.size} pods bound"
    ) as failed:
        check_waits_whole(kube, namespace, placed[-1], run.group_selector(placed[-1]), hold=WAITS_WHOLE)
    print(f"check failed as expected: {failed.value}")


def test_rack_check_fails_without_kueue_topology(kube: Clients, ready: TestbedCluster, namespace: str) -> None:
    racks = scenarios.racks(ready.spec)
    if len(racks) < 2:
        pytest.skip(f"one rack ({racks}): a group cannot span racks")
    run = scenarios.spreading_groups(kube, namespace, groups=len(racks), queue=None)
    scenarios.wait_placed(kube, namespace, run, whole_groups=run.groups)
    with pytest.raises(CheckFailed, match=r"group tas-\d spans racks ") as failed:
        check_groups_within_one_rack(placement_map(kube, namespace, run.selector))
    print(f"check failed as expected: {failed.value}")


@pytest.mark.parametrize("attribute", [NUMA, PCIE_ROOT, NVLINK_CLIQUE], ids=["numa", "pcie-root", "nvlink-clique"])
def test_alignment_check_fails_without_the_constraint(
    kube: Clients, ready: TestbedCluster, namespace: str, attribute: str
) -> None:
    count = allocate(kube, namespace, layout(ready.spec, attribute, constrained=False))
    members = placement_map(kube, namespace, group_of=pod_name)
    bad = misaligned(members, attribute)
    print(f"without the {attribute} constraint: {len(bad)}/{count} allocations misaligned")
    if attribute == NUMA:  # the layout makes every first-fit NIC the far one
        assert len(bad) == count, bad
    with pytest.raises(CheckFailed, match=rf"\d+/{count} allocations misaligned on {attribute}.*not aligned") as failed:
        check_all_aligned(members, attribute)
    print(f"check failed as expected: {failed.value}")


def test_alignment_check_fails_in_scalar_mode(kube: Clients, ready: TestbedCluster, namespace: str) -> None:
    """Counting only: the pods get a GPU and a NIC by count, no device is allocated, nothing can be
    said about their NUMA placement, and the check says so."""
    install_scalar(ready)
    pods = []
    for worker in ready.spec.workers:
        pod = claim_pod(f"counted-{len(pods)}", "unused", worker.name)
        del pod["spec"]["resourceClaims"]
        resources = pod["spec"]["containers"][0]["resources"]
        resources.pop("claims")
        resources["limits"] = {GPU_RESOURCE: "1", NIC_RESOURCE: "1"}
        create(kube, pod, namespace)
        pods.append(pod["metadata"]["name"])
    wait_ready(kube.core, namespace, pods, timeout=timeouts.POD_READY)
    members = placement_map(kube, namespace, group_of=pod_name)
    with pytest.raises(
        CheckFailed, match=rf"{len(pods)}/{len(pods)} allocations misaligned.*no allocated devices"
    ) as failed:
        check_all_aligned(members, NUMA)
    print(f"check failed as expected: {failed.value}")


def test_cost_check_fails_for_two_equal_placements(
    kube: Clients, ready: TestbedCluster, namespace: str, record: CheckRecord
) -> None:
    port = ready.endpoint()
    first = scenarios.latency_group(kube, namespace, ready.spec, "aligned", misplaced=False)
    first_load = scenarios.measure(kube, namespace, first, port, record)
    again = scenarios.measure(kube, namespace, first, port, record, label="aligned-again")
    with pytest.raises(CheckFailed, match="misplacement shows no cost") as failed:
        check_misplacement_costs(first_load, again)
    print(f"check failed as expected: {failed.value}")
