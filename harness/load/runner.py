"""Run Locust headless in a subprocess, bounded in time and requests, and turn its records into results."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from harness.load import results
from harness.load.target import check_target

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
HARNESS_ROOT = str(Path(__file__).parents[2])  # the folder holding the harness package
STOP_FILE = "stop"  # in the load's folder: its presence tells the users to send nothing new
STOP_GRACE = 30  # seconds Locust may take to exit once told to quit


@dataclass(frozen=True)
class LoadSpec:
    target: str  # base URL of an OpenAI-compatible server on 127.0.0.1 or a testbed container
    users: int = 4
    spawn_rate: float = 4
    duration: float = 30  # seconds
    max_requests: int = 0  # 0: bounded by duration only
    model: str = "mock-model"
    max_tokens: int = 32
    prompt_words: int = 16
    request_timeout: float = 120  # seconds without a byte before a request counts as failed
    retries: int = 2  # of an attempt the server never answered (client.py), as the OpenAI SDK's max_retries

    def problems(self) -> list[str]:
        checks = [
            (self.users >= 1, f"--users: {self.users} must be at least 1"),
            (self.users <= 1000, f"--users: {self.users}; at most 1000 from one Locust process"),
            (self.spawn_rate > 0, f"--spawn-rate: {self.spawn_rate} must be above 0"),
            (0 < self.duration <= 3600, f"--duration: {self.duration} s must be in (0, 3600]"),
            (self.max_requests >= 0, f"--max-requests: {self.max_requests} must be 0 (no limit) or more"),
            (self.max_tokens >= 1, f"--max-tokens: {self.max_tokens} must be at least 1"),
            (0 < self.request_timeout <= 600, f"--request-timeout: {self.request_timeout} s must be in (0, 600]"),
            (0 <= self.retries <= 10, f"--retries: {self.retries} must be in [0, 10]"),
        ]
        return [message for ok, message in checks if not ok]


@dataclass
class RunningLoad:
    """A Locust run in progress: mark disruptions on it, then stop it (or let it end) for results."""

    spec: LoadSpec
    out: Path
    proc: subprocess.Popen[bytes]
    marks: list[tuple[str, float]] = field(default_factory=list)

    def mark(self, label: str) -> None:
        self.marks.append((label, time.time()))

    def wait(self, timeout: float) -> None:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()

    def stop(self) -> None:
        """Send nothing new and let the open streams end (up to the request timeout), so each request
        sent is recorded with its answer; past that, SIGTERM (open streams are recorded as unfinished
        and Locust writes its CSVs), and last a kill."""
        if self.proc.poll() is None:
            (self.out / STOP_FILE).touch()
            try:
                self.proc.wait(timeout=self.spec.request_timeout + 5)
                return
            except subprocess.TimeoutExpired:
                pass
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def result(self) -> results.LoadResult:
        records = results.read_records(self.out / "requests.jsonl")
        result = results.summarize(records, self.spec.target, self.marks)
        results.write(result, self.out)
        return result


def start(spec: LoadSpec, out: Path) -> RunningLoad:
    problems = spec.problems()
    if problems:
        raise ValueError("invalid load: " + "; ".join(problems))
    check_target(spec.target)
    out.mkdir(parents=True, exist_ok=True)
    events = out / "requests.jsonl"
    events.unlink(missing_ok=True)
    (out / STOP_FILE).unlink(missing_ok=True)
    env = {
        **os.environ,
        "LLMC_LOAD_EVENTS": str(events),
        "LLMC_LOAD_MAX_REQUESTS": str(spec.max_requests),
        "LLMC_LOAD_MODEL": spec.model,
        "LLMC_LOAD_MAX_TOKENS": str(spec.max_tokens),
        "LLMC_LOAD_PROMPT_WORDS": str(spec.prompt_words),
        "LLMC_LOAD_REQUEST_TIMEOUT": str(spec.request_timeout),
        "LLMC_LOAD_RETRIES": str(spec.retries),
        "LLMC_LOAD_DURATION": str(spec.duration),
        "LLMC_LOAD_STOP_FILE": str(out / STOP_FILE),
        # the locustfile imports harness.load.client: this harness, installed or not
        "PYTHONPATH": os.pathsep.join(filter(None, [HARNESS_ROOT, os.environ.get("PYTHONPATH")])),
    }
    cmd = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "-u",
        str(spec.users),
        "-r",
        str(spec.spawn_rate),
        "--run-time",  # a backstop: the users stop at spec.duration and let open streams end
        f"{math.ceil(spec.duration + spec.request_timeout + 5)}s",
        "--host",
        spec.target.rstrip("/"),
        "--csv",
        str(out / "locust"),
        "--only-summary",
        "--stop-timeout",
        str(STOP_GRACE // 2),
        "--exit-code-on-error",
        "0",
        "--loglevel",
        "WARNING",
    ]
    log = (out / "locust.log").open("wb")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    return RunningLoad(spec, out, proc)


def run(spec: LoadSpec, out: Path) -> results.LoadResult:
    """Run a bounded load to completion and return its results (also written to out/results.json)."""
    load = start(spec, out)
    try:
        load.wait(timeout=spec.duration + spec.request_timeout + STOP_GRACE + 30)
    finally:
        load.stop()
    return load.result()


@contextmanager
def background(spec: LoadSpec, out: Path) -> Iterator[RunningLoad]:
    """Load that runs while the caller disrupts something: `with background(...) as load: load.mark('drain')`.

    On exit the load is stopped if still running; `load.result()` then has the marks on its timeline.
    """
    load = start(spec, out)
    try:
        yield load
    finally:
        load.stop()
