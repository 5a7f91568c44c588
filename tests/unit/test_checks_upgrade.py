"""The upgrade checks' judgments on synthetic timelines and load records: each passes on a good
observation and fails for each reason it names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from timelines import group, sample, timeline

from harness.checks import CheckFailed, upgrade
from harness.load.results import read_records, summarize


def rollout(*, dark: bool = False, mixed: bool = False, surge: int = 1, down: int = 1):  # type: ignore[no-untyped-def]
    """Two groups rolled r1 → r2 one at a time (or as the flags say)."""
    samples = [sample(0, 2, group(0, "RR", True), group(1, "RR", True))]
    if dark:
        samples.append(sample(1, 2, group(0, "UU"), group(1, "UU")))
    if mixed:
        samples.append(sample(1.5, 2, group(0, "R2R1", True), group(1, "RR", True)))
    if surge > 1:
        samples.append(sample(1.7, 2, group(0, "RR", True), group(1, "RR", True), group(2, "RR"), group(3, "RR")))
    if down > 1:
        samples.append(sample(1.8, 2, group(0, "UP", True), group(1, "UP", True)))
    samples.append(sample(2, 2, group(0, "R2R2", True), group(1, "RP", True, "r2")))
    samples.append(sample(3, 2, group(0, "R2R2", True), group(1, "R2R2", True)))
    return timeline(*samples)


def test_rolled_by_whole_groups_passes() -> None:
    result = upgrade.rolled_by_whole_groups(rollout(), 2, max_unavailable=1, max_surge=1, new_revision="r2")
    assert result.most_unavailable == 1 and result.no_endpoint_seconds == 0


@pytest.mark.parametrize(
    ("flags", "reason"),
    [
        ({"mixed": True}, r"members of one group ran different template revisions"),
        ({"surge": 2}, r"4 groups existed at once, more than 2 \+ maxSurge 1"),
        ({"down": 2}, r"2 of 2 groups unavailable at once at t=1\.8s, allowed 1"),
    ],
)
def test_rolled_by_whole_groups_fails_for_each_reason(flags: dict[str, object], reason: str) -> None:
    with pytest.raises(CheckFailed, match=reason):
        upgrade.rolled_by_whole_groups(rollout(**flags), 2, max_unavailable=1, max_surge=1, new_revision="r2")  # type: ignore[arg-type]


def test_rolled_by_whole_groups_fails_when_no_leader_serves() -> None:
    with pytest.raises(CheckFailed, match=r"no group served \(no ready leader endpoint\) for 1\.0 s"):
        upgrade.rolled_by_whole_groups(rollout(dark=True), 2, max_unavailable=2, max_surge=1, new_revision="r2")


def test_rolled_by_whole_groups_fails_when_a_group_stays_on_the_old_revision() -> None:
    seen = timeline(sample(0, 2, group(0, "RR", True), group(1, "RR", True)))
    with pytest.raises(CheckFailed, match="not every group reached revision r2"):
        upgrade.rolled_by_whole_groups(seen, 2, max_unavailable=1, max_surge=1, new_revision="r2")


def test_pod_budget_gap_is_shown_by_two_groups_down_and_not_by_one() -> None:
    two_down = timeline(
        sample(0, 3, group(0, "RR", True), group(1, "RR", True), group(2, "RR", True)),
        sample(1, 3, group(0, "RP", True), group(1, "RP", True), group(2, "RR", True)),
    )
    worst, seen = upgrade.pod_budget_gap(two_down, 3, "drain")
    assert worst == 2 and "2 of 3 groups unavailable at once" in seen
    one_down = timeline(
        sample(0, 3, group(0, "RR", True), group(1, "RR", True), group(2, "RR", True)),
        sample(1, 3, group(0, "RP", True), group(1, "RR", True), group(2, "RR", True)),
    )
    with pytest.raises(CheckFailed, match=r"at most 1 of 3 groups unavailable at once: .*no gap shown"):
        upgrade.pod_budget_gap(one_down, 3, "drain")


def record(t: float, ok: bool, error: str = "", retries: int = 0, tokens: int = 5) -> dict[str, object]:
    return {
        "t": t,
        "end": t + 1,
        "ok": ok,
        "status": 200 if ok else 0,
        "error": error,
        "ttft": 0.1 if ok else None,
        "e2e": 1.0,
        "tokens": tokens if ok else 0,
        "itl": [0.05] * max(0, tokens - 1) if ok else [],
        "retries": retries,
        "retry_errors": ["ConnectionError: Remote end closed connection without response"] * retries,
    }


def write(tmp_path: Path, records: list[dict[str, object]]) -> Path:
    (tmp_path / "requests.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return tmp_path


def test_no_request_lost_counts_retried_requests_apart(tmp_path: Path) -> None:
    out = write(tmp_path, [record(0, True), record(1, True, retries=1), record(2, True)])
    losses = upgrade.no_request_lost(
        summarize(read_records(out / "requests.jsonl"), "http://127.0.0.1:1"), out, "drain"
    )
    assert losses == upgrade.Losses(lost=0, retried=1)


def test_no_request_lost_fails_on_a_request_unanswered_after_retries(tmp_path: Path) -> None:
    """The old forgiveness: a request the server closed without answering is lost once retries end."""
    unanswered = record(1, False, "ConnectionError: Remote end closed connection without response", retries=2)
    out = write(tmp_path, [record(0, True), unanswered, record(2, True)])
    with pytest.raises(CheckFailed, match=r"drain: 1 of 3 requests failed"):
        upgrade.no_request_lost(summarize(read_records(out / "requests.jsonl"), "http://127.0.0.1:1"), out, "drain")


def test_no_request_lost_fails_without_traffic(tmp_path: Path) -> None:
    out = write(tmp_path, [record(0, False, "HTTP 503: draining")])
    with pytest.raises(CheckFailed, match=r"1 requests, 0 succeeded: no traffic"):
        upgrade.no_request_lost(summarize(read_records(out / "requests.jsonl"), "http://127.0.0.1:1"), out, "drain")
