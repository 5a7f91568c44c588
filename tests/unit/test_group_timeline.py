"""GroupTimeline's figures, the sampling-gap check, and the sampler's handling of failed samples."""

from __future__ import annotations

import time
from typing import Any, cast

import pytest
from kubernetes.client.exceptions import ApiException

from harness.checks import CheckFailed
from harness.checks.sampling import check_sampled
from harness.kube.client import Clients
from harness.serving import groups
from harness.serving.groups import Group, GroupTimeline, Member, Sample

SIZE = 2
NO_CLUSTER = cast(Clients, None)  # groups.sample is faked where observe() runs
T0 = 1000.0


def member(pod: str, ready: bool = True, running: bool = True, revision: str = "r1") -> Member:
    return Member(pod, "node-1", running, ready and running, revision)


def group(index: int, *members: Member, serving: bool = False) -> Group:
    return Group(index, members, serving)


def whole(index: int, revision: str = "r1", serving: bool = True) -> Group:
    return group(
        index, member(f"g-{index}", revision=revision), member(f"g-{index}-1", revision=revision), serving=serving
    )


def timeline(*samples: Sample, **kwargs: Any) -> GroupTimeline:
    return GroupTimeline("infer", SIZE, list(samples), **kwargs)


def at(seconds: float, *gs: Group, replicas: int = 2, endpoints: int | None = None) -> Sample:
    serving = sum(g.serving for g in gs)
    return Sample(T0 + seconds, replicas, {g.index: g for g in gs}, serving if endpoints is None else endpoints)


def test_whole_groups_and_unavailable() -> None:
    t = timeline(at(0, whole(0), whole(1)), at(1, whole(0), group(1, member("g-1"))), at(2, whole(0), replicas=3))
    assert t.whole_groups() == [(T0, 2), (T0 + 1, 1), (T0 + 2, 1)]
    assert t.unavailable() == [(T0, 0), (T0 + 1, 1), (T0 + 2, 2)]  # against the LWS's replicas then
    assert t.unavailable(replicas=2) == [(T0, 0), (T0 + 1, 1), (T0 + 2, 1)]


def test_partial_seconds_counts_the_time_a_group_had_some_but_not_all_members_ready() -> None:
    partial = group(1, member("g-1"), member("g-1-1", ready=False))
    t = timeline(at(0, whole(0), partial), at(1.5, whole(0), partial), at(2, whole(0), whole(1)), at(3, whole(0)))
    assert t.partial_seconds() == {1: 2.0}


def test_partial_serving_names_each_sample_where_an_incomplete_group_was_an_endpoint() -> None:
    lonely = group(0, member("g-0"), serving=True)  # the worker is missing
    starting = group(1, member("g-1"), member("g-1-1", running=False), serving=True)
    not_ready = group(2, member("g-2"), member("g-2-1", ready=False), serving=True)  # runs: complete, may serve
    t = timeline(at(0, whole(3)), at(2, lonely, starting, not_ready))
    assert t.partial_serving() == [
        "t=2.0s group 0: 1/2 members running, 1 ready, revisions ['r1'], yet its leader is a ready endpoint",
        "t=2.0s group 1: 1/2 members running, 1 ready, revisions ['r1'], yet its leader is a ready endpoint",
    ]
    assert timeline(at(0, whole(0)), at(1, group(0, member("g-0"), serving=False))).partial_serving() == []


def test_mixed_revisions_by_ready_members_and_with_the_not_ready_ones() -> None:
    mixed_ready = group(0, member("g-0", revision="r2"), member("g-0-1", revision="r1"))
    mixed_starting = group(1, member("g-1", revision="r2"), member("g-1-1", ready=False, revision="r1"))
    t = timeline(at(0, whole(2)), at(1, mixed_ready, mixed_starting))
    ready_only = t.mixed_revisions()
    assert ready_only == [
        "t=1.0s group 0: 2/2 members running, 2 ready, revisions ['r1', 'r2']: g-0=r2, g-0-1=r1",
    ]
    everyone = t.mixed_revisions(ready_only=False)
    assert len(everyone) == 2 and "g-1-1=r1 (not ready)" in everyone[1]


def test_no_endpoint_seconds() -> None:
    t = timeline(at(0, whole(0)), at(1, whole(0), endpoints=0), at(3.5, whole(0)), at(4, whole(0), endpoints=0))
    assert t.no_endpoint_seconds() == 2.5  # the last sample has no interval after it


def test_largest_gap_counts_the_window_edges() -> None:
    t = timeline(at(1, whole(0)), at(1.5, whole(0)), at(4, whole(0)), started=T0, ended=T0 + 10)
    assert t.largest_gap() == (6.0, T0 + 4, T0 + 10)
    assert timeline(at(1, whole(0)), at(3, whole(0))).largest_gap() == (2.0, T0 + 1, T0 + 3)
    assert timeline().largest_gap() == (0.0, 0.0, 0.0)


def test_check_sampled_passes_on_a_dense_timeline() -> None:
    check_sampled(timeline(*(at(i * 0.5, whole(0)) for i in range(10)), started=T0, ended=T0 + 5))


def test_check_sampled_fails_without_samples_and_shows_the_failures() -> None:
    t = timeline(started=T0, ended=T0 + 3, failures=[(T0 + 1, "ApiException: (503) Service Unavailable")])
    with pytest.raises(
        CheckFailed, match=r"LWS infer: no sample of the groups; failed samples: 1: t=1.0s ApiException"
    ):
        check_sampled(t)


def test_check_sampled_fails_on_a_gap_and_names_it_with_its_failed_samples() -> None:
    failures = [(T0 + 2 + i, f"ReadTimeoutError: read timed out ({i})") for i in range(7)]
    t = timeline(at(0.5, whole(0)), at(1, whole(0)), at(9, whole(0)), started=T0, ended=T0 + 9.5, failures=failures)
    with pytest.raises(CheckFailed) as failed:
        check_sampled(t, max_gap=5, what="rolling update of LWS infer")
    message = str(failed.value)
    assert message.startswith("rolling update of LWS infer: no sample for 8.0 s between t=1.0s and t=9.0s")
    assert "could hide a partial group serving or groups unavailable (allowed 5.0 s)" in message
    assert "failed samples: 7: t=2.0s ReadTimeoutError: read timed out (0)" in message
    assert "(and 2 more)" in message
    check_sampled(t, max_gap=8.5)


def test_check_sampled_counts_a_gap_at_the_end_of_the_window() -> None:
    t = timeline(at(0.2, whole(0)), started=T0, ended=T0 + 7)
    with pytest.raises(CheckFailed, match=r"no sample for 6.8 s between t=0.2s and t=7.0s.*failed samples: none"):
        check_sampled(t)


def fake_samples(monkeypatch: pytest.MonkeyPatch, *steps: Sample | Exception) -> None:
    """groups.sample answers each step in turn (raising the exceptions), then keeps answering the last."""
    left = list(steps)

    def sample(*args: object) -> Sample:
        step = left.pop(0) if len(left) > 1 else left[0]
        if isinstance(step, Exception):
            raise step
        return step

    monkeypatch.setattr(groups, "sample", sample)


def wait_for(condition: Any, seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_the_sampler_records_transient_failures_as_gaps(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_samples(monkeypatch, ApiException(status=503, reason="busy"), ConnectionResetError("reset"), at(0, whole(0)))
    with groups.observe(NO_CLUSTER, "ns", "infer", "svc", SIZE, interval=0.01) as t:
        wait_for(lambda: len(t.samples) >= 2)
    assert [e.split(":")[0] for _, e in t.failures] == ["ApiException", "ConnectionResetError"]
    assert "busy" in t.failures[0][1]
    assert t.started is not None and t.ended is not None and t.started <= t.failures[0][0] <= t.ended


def test_a_sampler_bug_ends_the_sampling_and_is_raised_when_the_block_exits(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_samples(monkeypatch, at(0, whole(0)), KeyError("spec"))
    with (
        pytest.raises(KeyError, match="spec"),
        groups.observe(NO_CLUSTER, "ns", "infer", "svc", SIZE, interval=0.01) as t,
    ):
        time.sleep(0.2)
    assert len(t.samples) == 1 and t.failures == []  # stopped at the bug, did not retry it


def test_the_blocks_own_error_wins_over_a_sampler_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_samples(monkeypatch, KeyError("spec"))
    with (
        pytest.raises(ValueError, match="the check's own"),
        groups.observe(NO_CLUSTER, "ns", "infer", "svc", SIZE, 0.01),
    ):
        time.sleep(0.05)
        raise ValueError("the check's own")
