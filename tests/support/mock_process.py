"""A real mock-vllm process on 127.0.0.1, bounded: started, probed, and always stopped."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import requests
from prometheus_client.parser import text_string_to_metric_families

MODEL = "mock-model"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class MockVLLM:
    """One mock-vllm process (or another entry point of the package: `module`); `url` is its base URL
    on 127.0.0.1."""

    args: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[str] | None = None
    module: str = "mock_vllm"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait_healthy: bool = True, timeout: float = 10) -> MockVLLM:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LWS_", "LLMC_"))}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module, "--host", "127.0.0.1", "--port", str(self.port), *self.args],
            env={**env, **self.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.wait(lambda: self.health().status_code == 200 if wait_healthy else self.listening(), timeout, "healthy")
        return self

    def listening(self) -> bool:
        try:
            self.health()
            return True
        except requests.ConnectionError:
            return False

    def health(self) -> requests.Response:
        return requests.get(f"{self.url}/health", timeout=2)

    def wait(self, check: object, timeout: float, what: str) -> None:
        assert callable(check)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"mock-vllm exited {self.proc.returncode} before {what}:\n{self.output()}")
            try:
                if check():
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"mock-vllm on {self.port} not {what} within {timeout} s:\n{self.stop_and_output()}")

    def signal(self, signum: int = signal.SIGTERM) -> None:
        assert self.proc is not None
        self.proc.send_signal(signum)

    def exit_code(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def output(self) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        if self.proc.poll() is None:
            return "(still running)"
        return self.proc.stdout.read()

    def stop_and_output(self) -> str:
        self.stop()
        return self.output()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def samples(url: str) -> dict[str, float]:
    """Every sample, keyed by name and labels as Prometheus prints them; fails on invalid text."""
    reply = requests.get(f"{url}/metrics", timeout=5)
    assert reply.status_code == 200 and reply.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    found = {}
    for family in text_string_to_metric_families(reply.text):
        for s in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            found[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return found
