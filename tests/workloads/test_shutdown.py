"""SIGTERM drains like vLLM's --shutdown-timeout: no new work, in-flight streams finish, exit 0."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

import openai
import requests
from mock_process import MODEL

STREAMS, TOKENS = 6, 50


def stream_all(client: openai.OpenAI, started: threading.Barrier, results: list[int | str]) -> None:
    try:
        count = 0
        stream = client.completions.create(model=MODEL, prompt="x", max_tokens=TOKENS, stream=True)
        for chunk in stream:
            if count == 0:
                started.wait(timeout=10)
            count += len(chunk.choices[0].text.split()) if chunk.choices else 0
        results.append(count)
    except Exception as e:  # the assertion below shows what each stream got
        results.append(f"{type(e).__name__}: {e}")


def test_sigterm_with_streams_in_flight_loses_none(spawn: Any) -> None:
    server = spawn(["--inter-token-latency", "20", "--shutdown-timeout", "20"])  # each stream ~1 s
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="none", max_retries=0, timeout=20)
    started = threading.Barrier(STREAMS + 1)
    results: list[int | str] = []
    threads = [threading.Thread(target=stream_all, args=(client, started, results)) for _ in range(STREAMS)]
    for t in threads:
        t.start()
    started.wait(timeout=10)  # every stream has its first token
    server.signal(signal.SIGTERM)
    time.sleep(0.1)
    health = server.health()
    assert health.status_code == 503 and "draining" in health.json()["reason"]
    refused = requests.post(f"{server.url}/v1/completions", json={"model": MODEL, "prompt": "x"}, timeout=5)
    assert refused.status_code == 503 and "shutting down" in refused.json()["error"]["message"]
    for t in threads:
        t.join(timeout=15)
    assert results == [TOKENS] * STREAMS
    assert server.exit_code(timeout=10) == 0


def test_shutdown_timeout_bounds_the_drain(spawn: Any) -> None:
    server = spawn(["--inter-token-latency", "20", "--shutdown-timeout", "0.5"])
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="none", max_retries=0, timeout=20)
    started = threading.Barrier(2)
    results: list[int | str] = []
    t = threading.Thread(target=stream_all, args=(client, started, results))
    t.start()
    started.wait(timeout=10)
    begun = time.monotonic()
    server.signal(signal.SIGTERM)
    assert server.exit_code(timeout=10) == 0
    assert time.monotonic() - begun < 3
    t.join(timeout=10)
    assert results and results[0] != TOKENS  # cut: the stream ended with an in-band error or early


def test_second_sigterm_exits_at_once(spawn: Any) -> None:
    server = spawn(["--inter-token-latency", "20", "--shutdown-timeout", "30"])
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="none", max_retries=0, timeout=20)
    started = threading.Barrier(2)
    results: list[int | str] = []
    t = threading.Thread(target=stream_all, args=(client, started, results), daemon=True)
    t.start()
    started.wait(timeout=10)
    server.signal(signal.SIGTERM)
    time.sleep(0.2)
    begun = time.monotonic()
    server.signal(signal.SIGTERM)
    assert server.exit_code(timeout=5) == 1
    assert time.monotonic() - begun < 2
    t.join(timeout=10)
