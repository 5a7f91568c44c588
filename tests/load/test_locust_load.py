"""The Locust load against a real mock vLLM (or a scripted server) on 127.0.0.1: figures match what the
server was told to do, failures land in the seconds they happened, only unanswered attempts are
retried, `harness load` exits 1 on failures, and other targets are refused."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from mock_process import MockVLLM, free_port
from scripted_server import Reply, scripted_server

from harness.cli import main
from harness.load import LoadSpec, background, run
from harness.load.results import read_records

TTFT_MS, ITL_MS = 100, 20


def within(measured: float | None, configured_ms: float, rel: float, abs_ms: float) -> bool:
    """Tolerance stated by the load tool: max(rel x configured, abs_ms) around the configured value."""
    assert measured is not None
    return abs(measured * 1000 - configured_ms) <= max(rel * configured_ms, abs_ms)


@pytest.mark.parametrize("users", [1, 8])
def test_measured_ttft_and_itl_match_the_configured_latency(tmp_path: Path, users: int) -> None:
    server = MockVLLM(args=["--time-to-first-token", str(TTFT_MS), "--inter-token-latency", str(ITL_MS)]).start()
    try:
        result = run(LoadSpec(server.url, users=users, spawn_rate=users, duration=6, max_tokens=16), tmp_path)
    finally:
        server.stop()
    assert result.failed == 0, result.failures
    assert result.requests >= users
    assert within(result.ttft.p50, TTFT_MS, rel=0.25, abs_ms=15), f"TTFT p50 {result.ttft.p50} vs {TTFT_MS} ms"
    assert within(result.itl.p50, ITL_MS, rel=0.25, abs_ms=5), f"ITL p50 {result.itl.p50} vs {ITL_MS} ms"
    assert (tmp_path / "results.json").exists() and (tmp_path / "locust_stats.csv").exists()


def test_server_errors_show_up_in_the_seconds_they_happened(tmp_path: Path) -> None:
    """The server answers 503 between two marks (a failing replacement on the same port); the
    timeline's failures fall between them, and not before."""
    server = MockVLLM(args=["--time-to-first-token", "20", "--inter-token-latency", "5"]).start()
    port = server.port
    failing: MockVLLM | None = None
    try:
        with background(LoadSpec(server.url, users=4, spawn_rate=4, duration=9, max_tokens=8), tmp_path) as load:
            time.sleep(3)
            load.mark("errors on")
            server.stop()
            failing = MockVLLM(
                args=["--failure-injection-rate", "100", "--failure-types", "server_error"], port=port
            ).start()
            time.sleep(3)
            failing.stop()
            server = MockVLLM(args=["--time-to-first-token", "20", "--inter-token-latency", "5"], port=port).start()
            load.mark("errors off")
            load.wait(timeout=30)
        result = load.result()
    finally:
        server.stop()
        if failing is not None:
            failing.stop()
    on, off = (m.second for m in result.marks)
    assert result.failed > 10, f"expected many failures while the server failed: {result.failures}"
    assert result.failures_between(0, int(on)) == 0, "no failure before the server started failing"
    assert result.failures_between(int(on), int(off) + 1) == result.failed, (
        f"every failure between {on:.1f} s and {off:.1f} s: "
        f"{[(s.second, s.failed) for s in result.timeline if s.failed]}"
    )
    assert "HTTP 503" in result.failures
    assert sum(s.succeeded for s in result.timeline if s.second > off + 1) > 0, "serving again after"


def harness_load(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", "load", *args], capture_output=True, text=True, timeout=60)


def test_cli_refuses_a_target_outside_loopback(tmp_path: Path) -> None:
    proc = harness_load("--target", "http://10.1.2.3:8000", "--duration", "1", "--out", str(tmp_path))
    assert proc.returncode == 2
    assert "load goes only to 127.0.0.1" in proc.stderr
    assert not (tmp_path / "requests.jsonl").exists(), "nothing was sent"


def test_cli_reads_the_served_model_and_prints_a_summary(tmp_path: Path) -> None:
    """No --model: the model is the one GET /v1/models lists (the default name would get 404s here)."""
    server = MockVLLM(args=["--model", "served-elsewhere", "--time-to-first-token", "10"]).start()
    try:
        proc = harness_load(
            "--target", server.url, "--users", "1", "--max-requests", "3", "--max-tokens", "4", "--out", str(tmp_path)
        )
    finally:
        server.stop()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 requests in" in proc.stdout and "3 succeeded, 0 failed, 0 retried" in proc.stdout
    assert all(name in proc.stdout for name in ("TTFT", "ITL", "e2e", "tokens/s")), proc.stdout


def test_cli_fails_against_a_closed_port(tmp_path: Path) -> None:
    target = f"http://127.0.0.1:{free_port()}"
    proc = harness_load("--target", target, "--out", str(tmp_path))
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        f"harness load: cannot read the served model from {target}/v1/models: "
        "ConnectionError: ConnectionRefusedError: [Errno 111] Connection refused"
    )
    proc = harness_load("--target", target, "--model", "m", "--max-requests", "2", "--out", str(tmp_path))
    assert proc.returncode == 1
    assert "2 of 2 requests failed" in proc.stderr and "ConnectionError x2" in proc.stderr
    assert "0 succeeded, 2 failed, 2 retried" in proc.stdout
    assert [r["retries"] for r in read_records(tmp_path / "requests.jsonl")] == [2, 2]


@pytest.mark.parametrize(("max_failure_rate", "exit_code"), [("0", 1), ("1", 0)])
def test_cli_exit_code_follows_the_failure_rate(tmp_path: Path, max_failure_rate: str, exit_code: int) -> None:
    server = MockVLLM().start()
    try:
        proc = harness_load(
            "--target", server.url, "--model", "not-served", "--max-requests", "2",
            "--max-failure-rate", max_failure_rate, "--out", str(tmp_path),
        )  # fmt: skip
    finally:
        server.stop()
    assert proc.returncode == exit_code, proc.stdout + proc.stderr
    assert "failures: HTTP 404 x2" in proc.stdout
    assert ("HTTP 404 x2" in proc.stderr) == (exit_code == 1)


def test_cli_options_show_their_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for default in ("--retries RETRIES retries", "(default: 2)", "(default: 0.0)", "(default: 120)"):
        assert default in text
    assert "GET /v1/models" in text


def test_a_request_on_a_connection_the_server_closed_is_retried(tmp_path: Path) -> None:
    """A draining server closes a kept-alive connection as the next request arrives on it: the user
    retries it on a new connection, like the OpenAI SDK, and the record says so."""
    with scripted_server(Reply(), Reply(unanswered=True)) as server:
        result = run(LoadSpec(server.url, users=1, spawn_rate=1, duration=10, max_requests=2), tmp_path)
    first, second = read_records(tmp_path / "requests.jsonl")
    assert (first["retries"], second["retries"]) == (0, 1)
    assert second["ok"] and second["retry_errors"] == [
        "ConnectionError: RemoteDisconnected: Remote end closed connection without response"
    ]
    assert (result.requests, result.failed, result.retried) == (2, 0, 1)
    assert '"retried": 1' in (tmp_path / "results.json").read_text()


def test_a_503_is_not_retried(tmp_path: Path) -> None:
    server = MockVLLM(args=["--failure-injection-rate", "100", "--failure-types", "server_error"]).start()
    try:
        result = run(LoadSpec(server.url, users=1, spawn_rate=1, duration=10, max_requests=3), tmp_path)
    finally:
        server.stop()
    records = read_records(tmp_path / "requests.jsonl")
    assert [(r["status"], r["retries"]) for r in records] == [(503, 0)] * 3
    assert result.failures == {"HTTP 503": 3} and result.retried == 0


def test_a_request_bound_stops_the_load_early(tmp_path: Path) -> None:
    server = MockVLLM(args=["--time-to-first-token", "10", "--inter-token-latency", "5"]).start()
    started = time.monotonic()
    try:
        result = run(LoadSpec(server.url, users=2, spawn_rate=2, duration=60, max_requests=5, max_tokens=4), tmp_path)
    finally:
        server.stop()
    assert result.requests == 5 and result.failed == 0
    assert time.monotonic() - started < 30, "stopped by the request bound, long before the 60 s duration"


SLOW_STREAM = ["--time-to-first-token", "20", "--inter-token-latency", "300"]  # 16 tokens: about 4.8 s


def test_stopping_lets_the_open_streams_end(tmp_path: Path) -> None:
    """stop() sends nothing new and waits for the answers: every request sent is recorded, whole."""
    server = MockVLLM(args=SLOW_STREAM).start()
    try:
        with background(LoadSpec(server.url, users=4, spawn_rate=4, duration=60, max_tokens=16), tmp_path) as load:
            time.sleep(3)  # every user is mid-stream
            load.stop()
        result = load.result()
    finally:
        server.stop()
    assert result.requests == 4 and result.failed == 0, result.failures
    assert result.duration >= 4.5, "the streams ran to their end after the stop"


def test_the_duration_ends_the_sending_not_the_open_streams(tmp_path: Path) -> None:
    server = MockVLLM(args=SLOW_STREAM).start()
    try:
        result = run(LoadSpec(server.url, users=2, spawn_rate=2, duration=2, max_tokens=16), tmp_path)
    finally:
        server.stop()
    assert result.requests == 2 and result.failed == 0, result.failures


def test_a_stream_still_open_at_the_bound_is_recorded_unfinished(tmp_path: Path) -> None:
    """Past the request timeout the stop is forced, and the open streams are failures, not lost records."""
    server = MockVLLM(args=SLOW_STREAM).start()
    spec = LoadSpec(server.url, users=3, spawn_rate=3, duration=60, max_tokens=200, request_timeout=2)
    try:
        with background(spec, tmp_path) as load:
            time.sleep(2)
            load.stop()  # 200 tokens take a minute: still open after the 2 s + 5 s grace
        result = load.result()
    finally:
        server.stop()
    assert result.requests == 3 and result.failures == {"unfinished": 3}, result.failures
