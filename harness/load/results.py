"""Load results: figures computed from the per-request records the Locust user writes."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Percentiles:
    count: int
    p50: float | None
    p90: float | None
    p99: float | None
    mean: float | None

    @classmethod
    def of(cls, values: list[float]) -> Percentiles:
        if not values:
            return cls(0, None, None, None, None)
        ordered = sorted(values)
        return cls(
            len(ordered), _rank(ordered, 50), _rank(ordered, 90), _rank(ordered, 99), sum(ordered) / len(ordered)
        )


def _rank(ordered: list[float], pct: float) -> float:
    """Nearest-rank percentile: a value that was actually measured."""
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class Second:
    """One second of the run, counted from its start."""

    second: int
    started: int
    succeeded: int  # requests that finished successfully in this second
    failed: int  # requests that failed in this second
    in_flight: int  # streams open at the end of this second
    ttft_p50: float | None  # of requests whose first token came in this second
    itl_p50: float | None  # of token gaps that ended in this second


@dataclass(frozen=True)
class Mark:
    """A disruption (drain start, pod kill, rollout) placed on the timeline."""

    label: str
    at: float  # epoch seconds
    second: float  # seconds since the run started


@dataclass
class LoadResult:
    target: str
    started: float  # epoch seconds of the first request
    duration: float  # seconds from the first request's start to the last one's end
    requests: int
    succeeded: int
    failed: int  # requests whose final attempt failed
    retried: int  # requests with at least one attempt the server never answered, retried (succeeded or not)
    requests_per_second: float
    tokens_per_second: float
    ttft: Percentiles  # seconds
    itl: Percentiles  # seconds, every gap between consecutive tokens
    e2e: Percentiles  # seconds
    failures: dict[str, int]  # reason -> count
    timeline: list[Second]
    marks: list[Mark] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def failures_between(self, start: float, end: float) -> int:
        """Failed requests in [start, end) seconds of the run."""
        return sum(s.failed for s in self.timeline if start <= s.second < end)

    def top_failures(self, top: int = 5) -> str:
        """'HTTP 503 x12, ConnectionError x3', most frequent first."""
        shown = [f"{reason} x{count}" for reason, count in list(self.failures.items())[:top]]
        more = len(self.failures) - top
        return ", ".join(shown + ([f"{more} more reasons"] if more > 0 else []))

    def summary(self) -> str:
        """What a person reads at the end of a load: counts, failures by reason, latencies, throughput."""
        lines = [
            f"{self.target}: {self.requests} requests in {self.duration:.1f} s, {self.succeeded} succeeded, "
            f"{self.failed} failed, {self.retried} retried",
        ]
        if self.failures:
            lines.append(f"failures: {self.top_failures()}")
        for name, p in (("TTFT", self.ttft), ("ITL", self.itl), ("e2e", self.e2e)):
            lines.append(f"{name:<4}  p50 {_ms(p.p50):>9}  p99 {_ms(p.p99):>9}")
        lines.append(f"{self.tokens_per_second:.1f} tokens/s, {self.requests_per_second:.2f} requests/s")
        return "\n".join(lines)


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f} ms"


def read_records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def summarize(records: list[dict[str, Any]], target: str, marks: list[tuple[str, float]] | None = None) -> LoadResult:
    marks = marks or []
    if not records:
        return LoadResult(
            target,
            0.0,
            0.0,
            0,
            0,
            0,
            0,
            0.0,
            0.0,
            Percentiles.of([]),
            Percentiles.of([]),
            Percentiles.of([]),
            {},
            [],
            [Mark(label, at, 0.0) for label, at in marks],
        )
    start = min(r["t"] for r in records)
    end = max(r["end"] for r in records)
    duration = max(end - start, 1e-9)
    ok = [r for r in records if r["ok"]]
    failures = Counter(_reason(r) for r in records if not r["ok"])
    tokens = sum(r["tokens"] for r in records)
    return LoadResult(
        target=target,
        started=start,
        duration=duration,
        requests=len(records),
        succeeded=len(ok),
        failed=len(records) - len(ok),
        retried=sum(1 for r in records if r.get("retries")),  # records from before retries have none
        requests_per_second=len(records) / duration,
        tokens_per_second=tokens / duration,
        ttft=Percentiles.of([r["ttft"] for r in ok if r["ttft"] is not None]),
        itl=Percentiles.of([g for r in ok for g in r["itl"]]),
        e2e=Percentiles.of([r["e2e"] for r in ok]),
        failures=dict(failures.most_common()),
        timeline=_timeline(records, start, end),
        marks=[Mark(label, at, at - start) for label, at in marks],
    )


def _reason(record: dict[str, Any]) -> str:
    """Group failures: 'HTTP 503', 'ConnectionError', 'in-stream error', ..."""
    error: str = record["error"]
    if error.startswith("HTTP "):
        return error.split(":", 1)[0]
    return error.split(":", 1)[0] or "unknown"


def _timeline(records: list[dict[str, Any]], start: float, end: float) -> list[Second]:
    seconds = int(end - start) + 1
    started = [0] * seconds
    succeeded = [0] * seconds
    failed = [0] * seconds
    in_flight = [0] * seconds
    ttfts: list[list[float]] = [[] for _ in range(seconds)]
    itls: list[list[float]] = [[] for _ in range(seconds)]
    for r in records:
        begin, finish = int(r["t"] - start), int(r["end"] - start)
        started[begin] += 1
        (succeeded if r["ok"] else failed)[finish] += 1
        for s in range(begin, finish):
            in_flight[s] += 1
        if r["ok"] and r["ttft"] is not None:
            first_token = r.get("attempt_t", r["t"]) + r["ttft"]  # ttft counts from the final attempt
            ttfts[min(int(first_token - start), seconds - 1)].append(r["ttft"])
            # token gaps are placed at the time they ended, walking from the first token
            t = first_token
            for gap in r["itl"]:
                t += gap
                itls[min(int(t - start), seconds - 1)].append(gap)
    return [
        Second(
            s,
            started[s],
            succeeded[s],
            failed[s],
            in_flight[s],
            Percentiles.of(ttfts[s]).p50,
            Percentiles.of(itls[s]).p50,
        )
        for s in range(seconds)
    ]


def write(result: LoadResult, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "results.json"
    path.write_text(json.dumps(result.to_json(), indent=2))
    return path
