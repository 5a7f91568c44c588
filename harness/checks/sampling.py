"""Whether a group timeline (harness/serving/groups.py) saw the groups often enough to be judged:
the claim every timeline check makes first, so that a gap in the samples cannot read as a pass."""

from __future__ import annotations

from harness.serving.groups import GroupTimeline
from harness.verdicts import CheckFailed

MAX_GAP = 5.0  # seconds without a sample that a judged timeline may have (10 samples at the default interval)


def check_sampled(timeline: GroupTimeline, max_gap: float = MAX_GAP, what: str = "") -> None:
    """The timeline saw the groups often enough to be judged: some samples, and no stretch of the
    observed window longer than `max_gap` s without one (failed samples are gaps). Judging code calls
    it before reading the samples: a partial group serving, or groups unavailable, for less than the
    gap would not show."""
    what = what or f"LWS {timeline.lws}"
    if not timeline.samples:
        raise CheckFailed(f"{what}: no sample of the groups; failed samples: {_failures(timeline, None, None)}")
    gap, start, end = timeline.largest_gap()
    if gap > max_gap:
        origin = timeline.origin()
        raise CheckFailed(
            f"{what}: no sample for {gap:.1f} s between t={start - origin:.1f}s and t={end - origin:.1f}s: a window "
            f"this long could hide a partial group serving or groups unavailable (allowed {max_gap:.1f} s); "
            f"failed samples: {_failures(timeline, start, end)}"
        )


def _failures(timeline: GroupTimeline, start: float | None, end: float | None, shown: int = 5) -> str:
    """The failed samples (in start..end when given), the first few with their errors."""
    origin = timeline.origin()
    failed = [(t, e) for t, e in timeline.failures if (start is None or start <= t) and (end is None or t <= end)]
    if not failed:
        return "none"
    lines = [f"t={t - origin:.1f}s {e}" for t, e in failed[:shown]]
    more = f" (and {len(failed) - shown} more)" if len(failed) > shown else ""
    return f"{len(failed)}: " + "; ".join(lines) + more
