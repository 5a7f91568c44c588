"""Restart checks on group states and pod timestamps made by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from harness.checks import CheckFailed
from harness.checks.restart import (
    GroupState,
    check_formed,
    check_recreated,
)

SIZE = 2


def state(
    uids: dict[str, str],
    ready: bool | dict[str, bool] = True,
    ring: tuple[str, str, str] = ("formed", "ring-1", ""),
    node: str = "w2",
) -> GroupState:
    phase, ring_id, reason = ring
    ready_by_pod = ready if isinstance(ready, dict) else dict.fromkeys(uids, ready)
    described = tuple(f"{p}: Running on {node}" for p in uids)
    return GroupState("g-0", uids, dict.fromkeys(uids, node), ring_id, phase, reason, ready_by_pod, described)


BEFORE = state({"g-0": "u1", "g-0-1": "u2"}, node="w1")
AFTER = state({"g-0": "u3", "g-0-1": "u4"}, ring=("formed", "ring-2", ""))


def test_formed() -> None:
    check_formed(BEFORE, SIZE)


@pytest.mark.parametrize(
    ("seen", "reason"),
    [
        (state({"g-0": "u1"}), r"^1/2 members, 1 Ready; pods \['g-0'\] on \['w2'\], ring formed; g-0: Running on w2$"),
        (state({"g-0": "u1", "g-0-1": "u2"}, ready={"g-0": True, "g-0-1": False}), r"^2/2 members, 1 Ready;"),
        (state({"g-0": "u1", "g-0-1": "u2"}, ring=("forming", "", "waiting for 1")), r"ring forming \(waiting for 1\)"),
    ],
    ids=["member-missing", "member-not-ready", "ring-not-formed"],
)
def test_formed_fails(seen: GroupState, reason: str) -> None:
    with pytest.raises(CheckFailed, match=reason):
        check_formed(seen, SIZE)


def test_recreated() -> None:
    check_recreated(BEFORE, AFTER, SIZE, lost_node="w1")


@pytest.mark.parametrize(
    ("after", "reason"),
    [
        (
            state({"g-0": "u1", "g-0-1": "u4"}, ring=("broken", "ring-1", "member 1 left")),
            r"^pods that kept their UIDs: \['g-0'\]; 2/2 members, 2 Ready; leader ring broken \(member 1 left\)$",
        ),
        (state({"g-0": "u3"}, ring=("formed", "ring-2", "")), r"pods that kept their UIDs: none; 1/2 members, 1 Ready"),
        (
            state({"g-0": "u3", "g-0-1": "u4"}, ready={"g-0": True, "g-0-1": False}, ring=("formed", "ring-2", "")),
            r"2/2 members, 1 Ready; leader ring formed$",
        ),
        (state({"g-0": "u3", "g-0-1": "u4"}), r"leader ring formed, the same ring ring-1$"),
        (
            state({"g-0": "u3", "g-0-1": "u4"}, ring=("unreachable", "", "ApiException")),
            r"leader ring unreachable \(ApiException\)",
        ),
        (
            state({"g-0": "u3", "g-0-1": "u4"}, ring=("formed", "ring-2", ""), node="w1"),
            r"; still on lost node w1: \['g-0', 'g-0-1'\]$",
        ),
    ],
    ids=["kept-uid", "member-missing", "member-not-ready", "same-ring", "ring-unreachable", "on-lost-node"],
)
def test_recreated_fails(after: GroupState, reason: str) -> None:
    with pytest.raises(CheckFailed, match=reason):
        check_recreated(BEFORE, after, SIZE, lost_node="w1")


T = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
