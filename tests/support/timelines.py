"""Synthetic group timelines for the checks' unit tests: samples written as short strings."""

from __future__ import annotations

from harness.serving.groups import Group, GroupTimeline, Member, Sample


def group(index: int, members: str, serving: bool = False, revision: str = "r1") -> Group:
    """`members`: one letter per member, leader first: R ready, U running not ready, P pending;
    a letter may be followed by a revision digit (R2: ready on revision r2)."""
    out = []
    letters = [c for c in members if c.isalpha()]
    revisions = [revision] * len(letters)
    for i, c in enumerate(members):
        if c.isdigit():
            revisions[sum(ch.isalpha() for ch in members[:i]) - 1] = f"r{c}"
    for w, (state, rev) in enumerate(zip(letters, revisions, strict=True)):
        pod = f"infer-{index}" if w == 0 else f"infer-{index}-{w}"
        out.append(Member(pod, f"node-{w}", running=state in "RU", ready=state == "R", revision=rev))
    return Group(index, tuple(out), serving)


def sample(at: float, replicas: int, *groups: Group) -> Sample:
    return Sample(at, replicas, {g.index: g for g in groups}, sum(g.serving for g in groups))


def timeline(*samples: Sample, size: int = 2) -> GroupTimeline:
    return GroupTimeline("infer", size, list(samples))
