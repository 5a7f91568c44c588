"""Topology checks: where groups and devices landed, read from the placement map
(harness/topology/placement.py), and what misplacement costs in inter-token latency. Each raises
CheckFailed with the evidence, or returns figures.

The suite (suites/test_topology.py) runs them on the right setup; tests/cluster/test_topology_negative.py
runs each on a wrong one (exclusive-topology annotation removed, Kueue's topology request removed,
NUMA constraint removed, scalar mode, two equally placed groups) and expects it to fail.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass

from harness import timeouts
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


def groups_per_rack(members: list[Member]) -> dict[str, int]:
    """Rack → how many groups have a bound member there."""
    return {
        rack: len({m.group for m in members if m.bound and m.rack == rack})
        for rack in {m.rack for m in members if m.bound}
    }


def check_exclusive_racks(members: list[Member]) -> dict[str, str]:
    """Each group within one rack, and no rack hosts two groups; returns group → rack. On failure,
    CheckFailed.figures has groups_per_rack_max."""
    figures = {"groups_per_rack_max": float(max(groups_per_rack(members).values(), default=0))}
    try:
        placed = check_groups_within_one_rack(members)
    except CheckFailed as e:
        raise CheckFailed(*e.args, figures=figures) from None
    by_rack: dict[str, list[str]] = {}
    for group, rack in placed.items():
        by_rack.setdefault(rack, []).append(group)
    shared = {rack: g for rack, g in by_rack.items() if len(g) > 1}
    if shared:
        raise CheckFailed(
            "racks shared by groups: "
            + "; ".join(f"rack {rack} hosts groups {', '.join(sorted(g))}" for rack, g in sorted(shared.items())),
            figures=figures,
        )
    return placed


@dataclass(frozen=True)
class PodSeen:
    line: str  # harness.kube.pods.describe
    bound: bool


def check_waited_whole(group: str, pods: list[PodSeen]) -> str:
    """No pod of the group is bound (it waits whole, holding nothing); returns what its pods looked like."""
    on_nodes = [p.line for p in pods if p.bound]
    if on_nodes:
        raise CheckFailed(
            f"group {group} did not wait whole: {len(on_nodes)}/{len(pods)} pods bound: {' | '.join(on_nodes)}"
        )
    return " | ".join(sorted(p.line for p in pods))


# A window that proves a negative (a group that has no rack left binds none of its pods): the check
# starts once the other groups are placed, when the scheduler has already tried the waiting group's
# leader (it retries an unschedulable pod at once on any change, else within its 10 s backoff); a
# scheduler that ignores the exclusive topology binds it at that first try. 15 s covers a retry.
WAITS_WHOLE = 15


def check_waits_whole(kube: Clients, namespace: str, group: str, selector: str, hold: float = WAITS_WHOLE) -> str:
    """The group (its pods selected by `selector`) has pods (at least its leader) and none of them is bound for `hold`
    seconds (WAITS_WHOLE: why that suffices): it waits whole, holding nothing. Returns what its pods looked like."""
    seen: list[PodSeen] = []

    def look() -> list[PodSeen]:
        nonlocal seen
        pods = kube.core.list_namespaced_pod(namespace, label_selector=selector).items
        seen = [PodSeen(describe(p), bool(p.spec.node_name)) for p in pods]
        return seen

    try:
        wait_until(lambda: (bool(look()), "no pods yet"), timeouts.CREATED, f"pods of group {group} created")
    except WaitTimeout as e:
        raise CheckFailed(str(e)) from None

    def bound() -> tuple[bool, str]:
        pods = look()
        return any(p.bound for p in pods), f"{sum(p.bound for p in pods)}/{len(pods)} pods bound"

    with suppress(WaitTimeout):  # no pod bound for `hold` s is the passing outcome; judged on the last look
        wait_until(bound, hold, f"a pod of group {group} bound", interval=1)
    return check_waited_whole(group, seen)


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
    """Every member's devices share `attribute`; returns the misaligned fraction (0.0 when it passes).
    On failure, CheckFailed.figures has misaligned_fraction and allocations."""
    if not members:
        raise CheckFailed("no allocations to check")
    bad = misaligned(members, attribute)
    fraction = len(bad) / len(members)
    if bad:
        raise CheckFailed(
            f"{len(bad)}/{len(members)} allocations misaligned on {attribute} (fraction {fraction:.2f}): "
            + " | ".join(bad),
            figures={"misaligned_fraction": fraction, "allocations": float(len(members))},
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
            f"{misplaced.itl.p50 * 1000:.1f} ms (ratio {ratio:.2f} < {min_ratio})",
            figures={"itl_ratio_p50": ratio},
        )
    return ratio
