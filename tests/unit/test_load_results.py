"""Load figures from per-request records: percentiles, failure breakdown, the per-second timeline, marks."""

from __future__ import annotations

import pytest

from harness.load import LoadSpec, TargetRefused, check_target
from harness.load.results import Percentiles, summarize

T0 = 1_000_000.0


def record(
    t: float,
    end: float,
    ok: bool = True,
    ttft: float | None = 0.1,
    itl: list[float] | None = None,
    error: str = "",
    tokens: int = 3,
    retried_for: float = 0.0,  # seconds the first attempts and backoffs took: the final one started then
) -> dict[str, object]:
    retry_fields = {"attempt_t": T0 + t + retried_for, "retries": 1, "retry_errors": ["x"]} if retried_for else {}
    return {
        "t": T0 + t,
        "end": T0 + end,
        "ok": ok,
        "status": 200 if ok else 503,
        "error": error,
        "ttft": ttft if ok else None,
        "e2e": end - t,
        "tokens": tokens if ok else 0,
        "itl": (itl if itl is not None else [0.02, 0.02]) if ok else [],
        **retry_fields,
    }


def test_nearest_rank_percentiles_are_measured_values() -> None:
    p = Percentiles.of([float(v) for v in range(1, 101)])
    assert (p.count, p.p50, p.p90, p.p99, p.mean) == (100, 50.0, 90.0, 99.0, 50.5)
    assert Percentiles.of([]).p50 is None


def test_summary_counts_and_failure_breakdown() -> None:
    records = [
        record(0.0, 0.5),
        record(0.2, 0.9),
        record(1.1, 1.2, ok=False, error="HTTP 503: draining"),
        record(1.5, 1.6, ok=False, error="HTTP 503: ring broken"),
        record(2.0, 2.1, ok=False, error="ConnectionError: refused"),
    ]
    result = summarize(records, "http://127.0.0.1:1")
    assert (result.requests, result.succeeded, result.failed) == (5, 2, 3)
    assert result.failures == {"HTTP 503": 2, "ConnectionError": 1}
    assert result.ttft.p50 == 0.1 and result.itl.count == 4


def test_timeline_puts_each_event_in_its_second() -> None:
    records = [record(0.0, 2.5), record(1.2, 1.4, ok=False, error="HTTP 500: x"), record(3.0, 3.5)]
    result = summarize(records, "t", marks=[("kill", T0 + 1.3)])
    seconds = {s.second: s for s in result.timeline}
    assert [s.started for s in result.timeline] == [1, 1, 0, 1]
    assert seconds[1].failed == 1 and seconds[2].succeeded == 1 and seconds[3].succeeded == 1
    assert seconds[0].in_flight == 1 and seconds[1].in_flight == 1 and seconds[2].in_flight == 0
    assert result.failures_between(1, 2) == 1 and result.failures_between(2, 4) == 0
    (mark,) = result.marks
    assert mark.label == "kill" and mark.second == pytest.approx(1.3)


def test_retried_requests_are_counted_and_timed_from_their_final_attempt() -> None:
    """Records without retry fields (written before retries) count as not retried."""
    records = [record(0.0, 0.5), record(0.0, 2.4, retried_for=1.5), record(0.1, 1.7, ok=False, retried_for=1.5)]
    result = summarize(records, "t")
    assert (result.requests, result.succeeded, result.failed, result.retried) == (3, 2, 1, 2)
    assert result.to_json()["retried"] == 2
    seconds = {s.second: s for s in result.timeline}
    assert seconds[0].ttft_p50 == 0.1 and seconds[1].ttft_p50 == 0.1, "the retried first token came at 1.6 s"
    assert seconds[1].itl_p50 == 0.02, "and its token gaps after it"


def test_summary_names_counts_reasons_and_percentiles() -> None:
    records = [record(0.0, 0.5), record(0.1, 0.6, retried_for=0.5)] + [
        record(1.0, 1.1, ok=False, error=f"HTTP {code}: x") for code in (503, 503, 404, 429, 500, 502, 504)
    ]
    text = summarize(records, "http://127.0.0.1:1").summary()
    assert "9 requests in 1.1 s, 2 succeeded, 7 failed, 1 retried" in text
    assert "failures: HTTP 503 x2, HTTP 404 x1, HTTP 429 x1, HTTP 500 x1, HTTP 502 x1, 1 more reasons" in text
    assert "TTFT  p50  100.0 ms  p99  100.0 ms" in text
    assert "tokens/s" in text


def test_no_records_is_an_empty_result_not_an_error() -> None:
    result = summarize([], "t")
    assert result.requests == 0 and result.timeline == []


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost:30080/v1", "https://[::1]:443"])
def test_loopback_targets_are_allowed(url: str) -> None:
    check_target(url)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://10.0.0.1:8000", "load goes only to 127.0.0.1"),
        ("http://192.168.1.10", "load goes only to 127.0.0.1"),
        ("ftp://127.0.0.1", "must be an http"),
        ("127.0.0.1:8000", "must be an http"),
        ("http://no-such-host.invalid:80", "cannot resolve"),
    ],
)
def test_other_targets_are_refused_with_the_reason(url: str, why: str) -> None:
    with pytest.raises(TargetRefused, match=why):
        check_target(url)


def test_load_spec_bounds_are_named() -> None:
    problems = LoadSpec("http://127.0.0.1:1", users=0, duration=0, spawn_rate=0).problems()
    assert any(p.startswith("--users") for p in problems)
    assert any(p.startswith("--duration") for p in problems)
    assert any(p.startswith("--spawn-rate") for p in problems)
