"""Where a run's time went: each check's seconds by kind (set-up, waiting for the cluster,
observation, other), summed per area, for summary.md, index.html and the benchmark."""

from __future__ import annotations

from typing import Any

from harness.report.schema import STEP_KINDS

KINDS = (*STEP_KINDS, "other")
NAMES = {"setup": "set-up", "wait": "waiting", "observe": "observation", "other": "other"}


def check_split(check: dict[str, Any]) -> dict[str, float]:
    """A results.json check's seconds by kind; a check from before `timing` existed counts whole as other."""
    timing = check.get("timing")
    if timing:
        return {k: float(timing.get(k, 0.0)) for k in KINDS}
    finished = check.get("finished") or check.get("started") or 0.0
    return {**dict.fromkeys(KINDS, 0.0), "other": max(0.0, finished - (check.get("started") or finished))}


def by_area(checks: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Seconds by kind per area, with a `total` per area, areas in first-run order."""
    areas: dict[str, dict[str, float]] = {}
    for check in checks:
        split = check_split(check)
        area = areas.setdefault(check["area"], dict.fromkeys((*KINDS, "total"), 0.0))
        for kind, seconds in split.items():
            area[kind] += seconds
            area["total"] += seconds
    return areas


def short(seconds: float) -> str:
    """`42 s`, `3.5 min`: a table cell."""
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"
