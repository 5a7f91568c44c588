"""Upgrade checks: a node hosting a group can be drained, and an LWS rolled, under load without
losing requests and without breaking more groups than allowed. Each raises CheckFailed with the
evidence, or returns its figures.

suites/test_upgrade.py runs them on the set-ups in harness/scenarios/upgrade.py;
tests/cluster/test_upgrade_negative.py runs each on the same set-up with one thing changed (no preStop
and the default grace period; maxUnavailable as large as the LWS; a budget of one pod) and expects
CheckFailed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.checks import CheckFailed
from harness.checks.sampling import check_sampled
from harness.load.results import LoadResult, read_records
from harness.serving.groups import GroupTimeline


@dataclass(frozen=True)
class Losses:
    lost: int  # requests that failed after the client's retries: error responses, cut streams, no answer
    retried: int  # requests answered only after a retry (a connection closed or refused before any response)


def no_request_lost(result: LoadResult, out: Path, what: str) -> Losses:
    """Every request of the load was answered, and the load carried traffic through the event. The
    load's client retries what the OpenAI SDK retries, a connection closed or refused before any
    response byte (a Service balances connections, not requests: a draining engine closes its kept-
    alive connections); what is still unanswered after the retries is lost."""
    if result.requests == 0 or result.succeeded == 0:
        raise CheckFailed(f"{what}: the load made {result.requests} requests, {result.succeeded} succeeded: no traffic")
    counted = losses(out)
    if counted.lost:
        seconds = [s.second for s in result.timeline if s.failed]
        marks = ", ".join(f"{m.label} at {m.second:.0f} s" for m in result.marks)
        raise CheckFailed(
            f"{what}: {counted.lost} of {result.requests} requests failed ({result.failures}) in seconds "
            f"{seconds[:10]}{' ...' if len(seconds) > 10 else ''} of the load; events: {marks}"
        )
    return counted


def losses(out: Path) -> Losses:
    """The requests of the load written to `out` that failed after retries, and those that needed one."""
    records = read_records(out / "requests.jsonl")
    return Losses(sum(1 for r in records if not r["ok"]), sum(1 for r in records if r.get("retries", 0)))


def _at(timeline: GroupTimeline, at: float) -> str:
    return f"t={at - timeline.samples[0].at:.1f}s"


def most_unavailable(timeline: GroupTimeline, replicas: int) -> int:
    """The most groups short of `replicas` at once over the timeline (0 without samples)."""
    return max((n for _, n in timeline.unavailable(replicas)), default=0)


def groups_broken_at_most(timeline: GroupTimeline, allowed: int, replicas: int, what: str) -> int:
    """At no sample were the whole groups more than `allowed` short of `replicas`; returns the most
    seen at once."""
    check_sampled(timeline, what=what)
    if len(timeline.samples) < 2:
        raise CheckFailed(f"{what}: {len(timeline.samples)} samples of the groups, cannot judge")
    unavailable = timeline.unavailable(replicas)
    worst_at, worst = max(unavailable, key=lambda p: p[1])
    if worst > allowed:
        sample = next(s for s in timeline.samples if s.at == worst_at)
        indexes = sorted(set(range(replicas)) | set(sample.groups))
        groups = "; ".join(
            sample.groups[i].describe(timeline.size) if i in sample.groups else f"group {i}: no pods" for i in indexes
        )
        raise CheckFailed(
            f"{what}: {worst} of {replicas} groups unavailable at once at {_at(timeline, worst_at)}, "
            f"allowed {allowed}: {groups}"
        )
    return worst


@dataclass(frozen=True)
class Rollout:
    most_unavailable: int  # groups not whole at once, among the LWS's replicas
    most_groups: int  # groups existing at once (replicas plus surge)
    no_endpoint_seconds: float  # seconds no leader was a ready endpoint
    transient_mixed_samples: int  # samples where a group being replaced had unready members of two revisions


def rolled_by_whole_groups(
    timeline: GroupTimeline, replicas: int, max_unavailable: int, max_surge: int, new_revision: str
) -> Rollout:
    """The rollout ended with every group on `new_revision`; no group ever had Ready members of
    different revisions; at most `max_unavailable` groups were down and at most `replicas + max_surge`
    groups existed at once; some leader was a ready endpoint throughout."""
    what = f"rolling update of LWS {timeline.lws}"
    check_sampled(timeline, what=what)
    mixed = timeline.mixed_revisions(ready_only=True)
    if mixed:
        shown = "\n  ".join(mixed[:5])
        raise CheckFailed(f"{what}: members of one group ran different template revisions:\n  {shown}")
    last = timeline.samples[-1]
    stale = [g.describe(timeline.size) for g in last.groups.values() if g.revisions != {new_revision}]
    if stale:
        raise CheckFailed(f"{what}: not every group reached revision {new_revision} at the end: {stale}")
    worst = groups_broken_at_most(timeline, max_unavailable, replicas, what)
    most = max(len(s.groups) for s in timeline.samples)
    if most > replicas + max_surge:
        raise CheckFailed(f"{what}: {most} groups existed at once, more than {replicas} + maxSurge {max_surge}")
    dark = timeline.no_endpoint_seconds()
    if dark > 0:
        raise CheckFailed(f"{what}: no group served (no ready leader endpoint) for {dark:.1f} s during the rollout")
    return Rollout(worst, most, dark, len(timeline.mixed_revisions(ready_only=False)))


def pod_budget_gap(timeline: GroupTimeline, replicas: int, what: str) -> tuple[int, str]:
    """The documented gap of a pod-level PodDisruptionBudget: under a budget of one group's pods, a
    plain drain of a node hosting members of several groups broke more than one group at once, as
    the group-aware drain's own check (groups_broken_at_most, one group) says. Returns the most groups
    broken at once and that check's failure."""
    check_sampled(timeline, what=what)  # a gap must fail this check, not read as the gap it looks for
    try:
        worst = groups_broken_at_most(timeline, 1, replicas, what)
    except CheckFailed as e:
        return most_unavailable(timeline, replicas), str(e)
    raise CheckFailed(
        f"{what}: at most {worst} of {replicas} groups unavailable at once: the pod-level budget kept the groups "
        "whole, no gap shown"
    )
