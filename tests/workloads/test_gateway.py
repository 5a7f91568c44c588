"""The request-holding gateway on 127.0.0.1: it forwards streams, holds requests while no engine
serves (counting them for an autoscaler), forwards them once one does, and gives up at its bound."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from typing import Any

import openai
import pytest
import requests
from mock_process import MockVLLM, free_port
from prometheus_client.parser import text_string_to_metric_families

MODEL = "mock-model"


def gateway(upstream_port: int, hold: float = 30) -> MockVLLM:
    args = ["--upstream", f"http://127.0.0.1:{upstream_port}", "--hold-timeout", str(hold)]
    return MockVLLM(args=args, module="mock_vllm.gateway").start()


def held(gw: MockVLLM) -> float:
    text = requests.get(f"{gw.url}/metrics", timeout=2).text
    return next(s.value for f in text_string_to_metric_families(text) for s in f.samples if s.name.endswith("held"))


def tokens(url: str, timeout: float = 30) -> int:
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0, timeout=timeout)
    stream = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}], max_tokens=8, stream=True
    )
    return sum(1 for c in stream if c.choices and c.choices[0].delta.content)


def test_forwards_a_stream_token_by_token() -> None:
    engine = MockVLLM().start()
    gw = gateway(engine.port)
    try:
        assert tokens(gw.url) == 8
        assert held(gw) == 0
    finally:
        gw.stop()
        engine.stop()


def test_holds_a_request_until_an_engine_serves_then_forwards_it() -> None:
    port = free_port()  # nothing listens there yet: the service has zero engines
    gw = gateway(port)
    got: dict[str, Any] = {}

    def first_request() -> None:
        try:
            got["tokens"] = tokens(gw.url, timeout=60)
        except Exception as e:  # reported by the assertion below
            got["error"] = e

    engine: MockVLLM | None = None
    caller = threading.Thread(target=first_request)
    try:
        caller.start()
        deadline = time.monotonic() + 10
        while held(gw) != 1:
            assert time.monotonic() < deadline, "the request was not counted as held"
            time.sleep(0.1)
        time.sleep(1)
        assert caller.is_alive(), f"answered while no engine served: {got}"
        engine = MockVLLM(port=port).start()  # the autoscaler's new engine
        caller.join(timeout=30)
        assert got.get("tokens") == 8, got
        assert held(gw) == 0
    finally:
        caller.join(timeout=60)
        gw.stop()
        if engine is not None:
            engine.stop()


def test_a_request_held_past_the_bound_gets_503_with_the_reason() -> None:
    gw = gateway(free_port(), hold=1.5)
    try:
        started = time.monotonic()
        answer = requests.post(f"{gw.url}/v1/chat/completions", json={"model": MODEL, "messages": []}, timeout=30)
        assert answer.status_code == 503
        assert "no engine served within 1.5 s" in answer.json()["error"]["message"]
        assert 1.5 <= time.monotonic() - started < 10
        assert held(gw) == 0
    finally:
        gw.stop()


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--upstream", "infer-api:8000"], "--upstream: 'infer-api:8000' is not an http(s) URL"),
        (["--upstream", "http://x", "--hold-timeout", "0"], "--hold-timeout: 0.0 must be positive"),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(args: list[str], named: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mock_vllm.gateway", *args], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 2 and named in proc.stderr, proc.stderr
