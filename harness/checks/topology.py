"""Topology checks: where groups and devices landed, read from the placement map
(harness/topology/placement.py), and what misplacement costs in inter-token latency. Each raises
CheckFailed with the evidence, or returns figures.

The suite (suites/test_topology.py) runs them on the right setup; tests/cluster/test_topology_negative.py
runs each on a wrong one (exclusive-topology annotation removed, Kueue's topology request removed,
NUMA constraint removed, scalar mode, two equally placed groups) and expects it to fail.
"""

from __future__ import annotations

from harness.checks import CheckFailed
from harness.checks.dra import check_aligned
from harness.kube.client import Clients
from harness.kube.pods import describe
from harness.kube.waits import WaitTimeout, wait_until
from harness.load.results import LoadResult
from harness.topology.placement import Member, groups

MIN_LATENCY_RATIO = 1.2  # well above run-to-run noise of the same placement (about ±5 %)


def _listing(members: list[Member]) -> str:
    return "; ".join(str(m) for m in members)


def check_groups_within_one_rack(members: list[Member]) -> dict[str, str]:
    """Every member of every group is bound, all in one rack; returns group → rack."""
    if not members:
        raise CheckFailed("no pods found: nothing placed to check")
    placed = {}
    for group, group_members in groups(members).items():
        unbound = [m.pod for m in group_members if not m.bound]
        if unbound:
            raise CheckFailed(
                f"group {group}: {len(unbound)}/{len(group_members)} pods not bound ({', '.join(unbound)})"
            )
        group_racks = sorted({m.rack for m in group_members})
        if "" in group_racks:
            raise CheckFailed(f"group {group}: a node without a rack label: {_listing(group_members)}")
        if len(group_racks) != 1:
            raise CheckFailed(f"group {group} spans racks {', '.join(group_racks)}: {_listing(group_members)}")
        placed[group] = group_racks[0]
    return placed


def check_exclusive_racks(members: list[Member]) -> dict[str, str]:
    """Each group within one rack, and no rack hosts two groups; returns group → rack."""
    placed = check_groups_within_one_rack(members)
    by_rack: dict[str, list[str]] = {}
    for group, rack in placed.items():
        by_rack.setdefault(rack, []).append(group)
    shared = {rack: g for rack, g in by_rack.items() if len(g) > 1}
    if shared:
        raise CheckFailed(
            "racks shared by groups: "
            + "; ".join(f"rack {rack} hosts groups {', '.join(sorted(g))}" for rack, g in sorted(shared.items()))
        )
    return placed


def check_waits_whole(kube: Clients, namespace: str, group: str, selector: str, hold: float) -> str:
    """The group (its pods selected by `selector`) has pods (at least its leader) and none of them is bound for `hold`
    seconds: it waits whole, holding nothing. Returns what its pods looked like."""

    def state() -> tuple[list[str], list[str]]:
        pods = kube.core.list_namespaced_pod(namespace, label_selector=selector).items
        return [describe(p) for p in pods], [describe(p) for p in pods if p.spec.node_name]

    def created() -> tuple[bool, str]:
        pods, _ = state()
        return bool(pods), "no pods yet"

    try:
        wait_until(created, 90, f"pods of group {group} created")
    except WaitTimeout as e:
        raise CheckFailed(str(e)) from None

    def bound() -> tuple[bool, str]:
        pods, on_nodes = state()
        return bool(on_nodes), f"{len(on_nodes)}/{len(pods)} pods bound: {' | '.join(on_nodes)}"

    try:
        wait_until(bound, hold, f"a pod of group {group} bound", interval=1)
    except WaitTimeout:
        return " | ".join(sorted(state()[0]))
    _, seen = bound()
    raise CheckFailed(f"group {group} did not wait whole: {seen}")


def misaligned(members: list[Member], attribute: str) -> list[str]:
    """The members whose devices do not share `attribute` (or that got no devices at all), with why."""
    found = []
    for m in members:
        if not m.devices:
            found.append(f"{m.pod}: no allocated devices (claims {list(m.claims) or 'none'}): placement unknown")
            continue
        try:
            check_aligned(list(m.devices), attribute)
        except CheckFailed as e:
            found.append(f"{m.pod} ({', '.join(m.claims)}): {e}")
    return found


def check_all_aligned(members: list[Member], attribute: str) -> float:
    """Every member's devices share `attribute`; returns the misaligned fraction (0.0 when it passes)."""
    if not members:
        raise CheckFailed("no allocations to check")
    bad = misaligned(members, attribute)
    fraction = len(bad) / len(members)
    if bad:
        raise CheckFailed(
            f"{len(bad)}/{len(members)} allocations misaligned on {attribute} (fraction {fraction:.2f}): "
            + " | ".join(bad)
        )
    return fraction


def check_misplacement_costs(aligned: LoadResult, misplaced: LoadResult, min_ratio: float = MIN_LATENCY_RATIO) -> float:
    """The same load is faster on the aligned group: misplaced ITL p50 >= min_ratio * aligned ITL p50.
    Returns the ratio."""
    for name, result in (("aligned", aligned), ("misplaced", misplaced)):
        if not result.itl.p50 or result.succeeded == 0:
            raise CheckFailed(
                f"{name} group: no inter-token latency measured ({result.succeeded}/{result.requests} requests "
                f"succeeded, failures {result.failures})"
            )
    assert aligned.itl.p50 and misplaced.itl.p50  # for mypy: checked above
    ratio = misplaced.itl.p50 / aligned.itl.p50
    if ratio < min_ratio:
        raise CheckFailed(
            f"misplacement shows no cost: ITL p50 aligned {aligned.itl.p50 * 1000:.1f} ms, misplaced "
            f"{misplaced.itl.p50 * 1000:.1f} ms (ratio {ratio:.2f} < {min_ratio})"
        )
    return ratio
