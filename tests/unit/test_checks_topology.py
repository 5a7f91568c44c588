"""Topology checks on placement maps and load results made by hand."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest
from fake_gpu.slices import NUMA_ATTRIBUTE as NUMA

from harness.checks import CheckFailed
from harness.checks.topology import (
    PodSeen,
    check_all_aligned,
    check_exclusive_racks,
    check_groups_within_one_rack,
    check_misplacement_costs,
    check_waited_whole,
    check_waits_whole,
    groups_per_rack,
    misaligned,
)
from harness.kube.client import Clients
from harness.load.results import LoadResult, Percentiles
from harness.topology.allocations import Allocated
from harness.topology.placement import Member

RACK_OF = {"n1": "rack-1", "n2": "rack-1", "n3": "rack-2", "n4": "rack-2", "bare": ""}


def m(
    group: str, pod: str, node: str = "", devices: tuple[Allocated, ...] = (), claims: tuple[str, ...] = ()
) -> Member:
    return Member(group, pod, node, RACK_OF.get(node, ""), devices, claims)


def group_on(group: str, *nodes: str) -> list[Member]:
    return [m(group, f"{group}-{i}" if i else group, node) for i, node in enumerate(nodes)]


def test_groups_within_one_rack() -> None:
    assert check_groups_within_one_rack(group_on("a-0", "n1", "n2") + group_on("a-1", "n3", "n4")) == {
        "a-0": "rack-1",
        "a-1": "rack-2",
    }


@pytest.mark.parametrize(
    ("members", "reason"),
    [
        ([], r"no pods found: nothing placed to check"),
        (group_on("a-0", "n1", ""), r"group a-0: 1/2 pods not bound \(a-0-1\)"),
        (
            group_on("a-0", "n1", "bare"),
            r"group a-0: a node without a rack label: a-0 on n1 \(rack-1; no devices\); a-0-1 on bare",
        ),
        (group_on("a-0", "n1", "n3"), r"group a-0 spans racks rack-1, rack-2: a-0 on n1 .*a-0-1 on n3 \(rack-2"),
    ],
    ids=["nothing", "unbound", "no-rack-label", "spans-racks"],
)
def test_groups_within_one_rack_fails(members: list[Member], reason: str) -> None:
    with pytest.raises(CheckFailed, match=reason):
        check_groups_within_one_rack(members)


def test_exclusive_racks() -> None:
    members = group_on("a-0", "n1", "n2") + group_on("a-1", "n3", "n4")
    assert check_exclusive_racks(members) == {"a-0": "rack-1", "a-1": "rack-2"}
    assert groups_per_rack(members + group_on("a-2", "", "")) == {"rack-1": 1, "rack-2": 1}


def test_exclusive_racks_fails_on_a_shared_rack_with_the_figure() -> None:
    members = group_on("a-0", "n1", "n1") + group_on("a-1", "n2", "n2") + group_on("a-2", "n3", "n4")
    with pytest.raises(CheckFailed, match=r"^racks shared by groups: rack rack-1 hosts groups a-0, a-1$") as failed:
        check_exclusive_racks(members)
    assert failed.value.figures == {"groups_per_rack_max": 2.0}


def test_exclusive_racks_fails_on_a_group_across_racks_with_the_figure() -> None:
    with pytest.raises(CheckFailed, match=r"group a-0 spans racks rack-1, rack-2") as failed:
        check_exclusive_racks(group_on("a-0", "n1", "n3") + group_on("a-1", "n4", "n4"))
    assert failed.value.figures == {"groups_per_rack_max": 2.0}  # a-0 and a-1 on rack-2


def test_waited_whole() -> None:
    pods = [PodSeen("g-1: Pending on (unscheduled)", False), PodSeen("g-0: Pending on (unscheduled)", False)]
    assert check_waited_whole("g", pods) == "g-0: Pending on (unscheduled) | g-1: Pending on (unscheduled)"
    bound = [PodSeen("g-0: Running on n1", True), PodSeen("g-1: Pending on (unscheduled)", False)]
    with pytest.raises(CheckFailed, match=r"^group g did not wait whole: 1/2 pods bound: g-0: Running on n1$"):
        check_waited_whole("g", bound)


def fake_pods(*nodes: str | None) -> Any:
    """A Clients whose core API lists pods on these nodes (None: unscheduled)."""

    def pod(i: int, node: str | None) -> Any:
        return SimpleNamespace(
            metadata=SimpleNamespace(name=f"g-{i}"),
            spec=SimpleNamespace(node_name=node),
            status=SimpleNamespace(phase="Running" if node else "Pending", container_statuses=[], conditions=[]),
        )

    items = [pod(i, node) for i, node in enumerate(nodes)]
    core = SimpleNamespace(list_namespaced_pod=lambda namespace, label_selector: SimpleNamespace(items=items))
    return cast(Clients, SimpleNamespace(core=core))


def test_waits_whole_reads_then_judges() -> None:
    assert check_waits_whole(fake_pods(None, None), "ns", "g", "sel", hold=0) == (
        "g-0: Pending on (unscheduled) | g-1: Pending on (unscheduled)"
    )
    with pytest.raises(CheckFailed, match=r"group g did not wait whole: 2/2 pods bound: g-0: Running on n1 \| g-1"):
        check_waits_whole(fake_pods("n1", "n2"), "ns", "g", "sel", hold=5)


def test_waits_whole_propagates_a_broken_read_instead_of_passing() -> None:
    broken = cast(Clients, SimpleNamespace(core=SimpleNamespace(list_namespaced_pod=lambda *a, **kw: {}["items"])))
    with pytest.raises(KeyError):  # at once, not after `hold` as "no pod bound"
        check_waits_whole(broken, "ns", "g", "sel", hold=5)


def device(node: str, name: str, numa: int | None) -> Allocated:
    return Allocated("gpus", node, name, {} if numa is None else {NUMA: numa})


def test_all_aligned() -> None:
    members = [m("p", "p", "n1", (device("n1", "gpu-0", 0), device("n1", "nic-0", 0)), ("c",))]
    assert check_all_aligned(members, NUMA) == 0.0
    assert misaligned(members, NUMA) == []


def test_all_aligned_fails_with_the_misaligned_fraction() -> None:
    good = m("a", "a", "n1", (device("n1", "gpu-0", 0), device("n1", "nic-0", 0)), ("ca",))
    split = m("b", "b", "n1", (device("n1", "gpu-2", 1), device("n1", "nic-0", 0)), ("cb",))
    nothing = m("c", "c", "n1", (), ())
    with pytest.raises(CheckFailed) as failed:
        check_all_aligned([good, split, nothing], NUMA)
    message = str(failed.value)
    assert message.startswith(f"2/3 allocations misaligned on {NUMA} (fraction 0.67): ")
    assert f"b (cb): devices not aligned on {NUMA}: {{'n1/gpu-2': 1, 'n1/nic-0': 0}}" in message
    assert "c: no allocated devices (claims none): placement unknown" in message
    assert failed.value.figures == {"misaligned_fraction": 2 / 3, "allocations": 3.0}


def test_all_aligned_fails_on_a_single_device_or_a_missing_attribute() -> None:
    one = m("a", "a", "n1", (device("n1", "gpu-0", 0),), ("ca",))
    unknown = m("b", "b", "n1", (device("n1", "gpu-0", 0), device("n1", "nic-0", None)), ("cb",))
    with pytest.raises(CheckFailed, match=r"2/2 allocations misaligned.*needs at least 2 devices.*not aligned"):
        check_all_aligned([one, unknown], NUMA)


def test_all_aligned_fails_with_nothing_to_check() -> None:
    with pytest.raises(CheckFailed, match="no allocations to check"):
        check_all_aligned([], NUMA)


def load(itl_p50: float | None, succeeded: int = 10, failures: dict[str, int] | None = None) -> LoadResult:
    none = Percentiles(0, None, None, None, None)
    itl = Percentiles(100, itl_p50, itl_p50, itl_p50, itl_p50) if itl_p50 else none
    return LoadResult(
        "http://127.0.0.1:30080", 0, 10, 10, succeeded, 10 - succeeded, 0, 1, 10, none, itl, none, failures or {}, []
    )


def test_misplacement_costs() -> None:
    assert check_misplacement_costs(load(0.010), load(0.015)) == pytest.approx(1.5)


def test_misplacement_costs_fails_without_a_cost_with_the_ratio() -> None:
    with pytest.raises(
        CheckFailed,
        match=r"misplacement shows no cost: ITL p50 aligned 10.0 ms, misplaced 10.5 ms \(ratio 1.05 < 1.2\)",
    ) as failed:
        check_misplacement_costs(load(0.010), load(0.0105))
    assert failed.value.figures == {"itl_ratio_p50": pytest.approx(1.05)}


@pytest.mark.parametrize(
    ("aligned", "misplaced", "reason"),
    [
        (
            load(None, succeeded=0, failures={"refused": 10}),
            load(0.02),
            r"aligned group: no inter-token latency measured \(0/10 requests succeeded, failures \{'refused': 10\}\)",
        ),
        (load(0.01), load(None, succeeded=0), r"misplaced group: no inter-token latency measured \(0/10"),
    ],
    ids=["aligned-unmeasured", "misplaced-unmeasured"],
)
def test_misplacement_costs_fails_without_a_measurement(
    aligned: LoadResult, misplaced: LoadResult, reason: str
) -> None:
    with pytest.raises(CheckFailed, match=reason):
        check_misplacement_costs(aligned, misplaced)
