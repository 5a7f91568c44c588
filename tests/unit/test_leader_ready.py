"""The LeaderReady judgment on watch observations (harness/scenarios/restart.py): workers must come
after their leader's Ready in the watch's order, even within one second, where the pods' 1-second
timestamps cannot tell."""

from __future__ import annotations

from typing import Any

import pytest

from harness.checks import CheckFailed
from harness.checks.restart import Seen, Startup, workers_after_leader_ready
from harness.scenarios.restart import StartupWatch

SECOND = 1_700_000_100.0  # a whole second: every time below falls within it or the next


def test_workers_after_the_leader_ready_pass_with_the_seconds_to_the_last() -> None:
    startup = Startup("g-0", Seen(3, SECOND + 0.4), {"g-0-1": Seen(4, SECOND + 0.6), "g-0-2": Seen(5, SECOND + 1.1)})
    assert workers_after_leader_ready(startup) == pytest.approx(0.7)


def test_a_worker_0_3_s_before_the_leader_ready_in_the_same_second_fails() -> None:
    startup = Startup("g-0", Seen(3, SECOND + 0.7), {"g-0-1": Seen(2, SECOND + 0.4), "g-0-2": Seen(4, SECOND + 0.8)})
    with pytest.raises(CheckFailed, match=r"workers created before leader g-0 was Ready: g-0-1 0\.3 s before: "):
        workers_after_leader_ready(startup)


def test_the_watch_order_decides_when_events_arrive_together() -> None:
    # A burst read from one chunk: the same receive time, but the worker was stored first.
    startup = Startup("g-0", Seen(3, SECOND), {"g-0-1": Seen(2, SECOND)})
    with pytest.raises(CheckFailed, match=r"g-0-1 0\.0 s before"):
        workers_after_leader_ready(startup)


def test_no_ready_leader_or_no_worker_fails_with_why_the_watch_ended() -> None:
    with pytest.raises(CheckFailed, match=r"leader g-0 never seen Ready \(watch ended: ApiException: 410\)"):
        workers_after_leader_ready(Startup("g-0", None, {"g-0-1": Seen(1, SECOND)}, ended="ApiException: 410"))
    with pytest.raises(CheckFailed, match="no worker of g-0 seen created"):
        workers_after_leader_ready(Startup("g-0", Seen(1, SECOND), {}))


def pod(name: str, ready: bool = False) -> dict[str, Any]:
    status = "True" if ready else "False"
    return {"metadata": {"name": name}, "status": {"conditions": [{"type": "Ready", "status": status}]}}


def test_the_watch_keeps_each_worker_added_and_the_leader_first_ready_in_order() -> None:
    watch = StartupWatch("g-0")
    watch.add("ADDED", pod("g-0"), SECOND + 0.1)
    watch.add("ADDED", pod("g-0-1"), SECOND + 0.2)  # before the leader's Ready: LeaderCreated
    watch.add("MODIFIED", pod("g-0", ready=True), SECOND + 0.5)
    watch.add("MODIFIED", pod("g-0-1", ready=True), SECOND + 0.6)  # not an ADDED: ignored
    watch.add("MODIFIED", pod("g-0", ready=True), SECOND + 0.9)  # still Ready: the first one counts
    watch.add("ADDED", pod("g-0-2"), SECOND + 1.0)
    startup = watch.startup()
    assert startup.leader_ready == Seen(3, SECOND + 0.5)
    assert startup.workers_added == {"g-0-1": Seen(2, SECOND + 0.2), "g-0-2": Seen(6, SECOND + 1.0)}
    with pytest.raises(CheckFailed, match=r"g-0-1 0\.3 s before"):
        workers_after_leader_ready(startup)
