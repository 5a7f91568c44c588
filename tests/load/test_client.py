"""One request as the Locust user sends it (harness.load.client), against a scripted server on
127.0.0.1: what is retried (only attempts the server never answered) and what each record says."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from mock_process import free_port
from scripted_server import STREAM, TOKENS, Reply, scripted_server

from harness.load.client import Exchange, backoff

BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}
CLOSED = Reply(unanswered=True)
UNANSWERED = "Remote end closed connection without response"  # http.client's words: no status line


def send(url: str, retries: int = 2, timeout: float = 10, session: requests.Session | None = None) -> dict[str, Any]:
    exchange = Exchange(f"{url}/v1/chat/completions", BODY, timeout, retries)
    exchange.run(session or requests.Session())
    return exchange.record()


def test_the_openai_sdk_backoff() -> None:
    assert [backoff(n) for n in range(6)] == [0.5, 1, 2, 4, 8, 8]


def test_a_kept_alive_connection_closed_without_answer_is_retried() -> None:
    with scripted_server(Reply(), CLOSED) as server:
        session = requests.Session()
        first = send(server.url, session=session)
        second = send(server.url, session=session)  # on the connection the server then closes
    assert first["ok"] and first["retries"] == 0 and first["retry_errors"] == []
    assert second["ok"], second
    assert second["retries"] == 1 and server.received == 3
    assert second["retry_errors"] == [f"ConnectionError: RemoteDisconnected: {UNANSWERED}"]
    assert second["tokens"] == TOKENS and len(second["itl"]) == TOKENS - 1
    assert second["e2e"] >= backoff(0), "e2e covers every attempt and the backoff"
    assert second["ttft"] < backoff(0), "ttft counts from the final attempt's send"
    assert second["attempt_t"] - second["t"] >= backoff(0)


def test_refused_connections_are_retried_with_backoff_then_fail() -> None:
    started = time.monotonic()
    record = send(f"http://127.0.0.1:{free_port()}")
    assert not record["ok"] and record["status"] == 0
    assert record["retries"] == 2 and len(record["retry_errors"]) == 2
    assert all("ConnectionRefusedError" in e for e in [*record["retry_errors"], record["error"]]), record
    assert record["e2e"] >= backoff(0) + backoff(1) and time.monotonic() - started < 5


def test_no_retry_when_told_none_or_past_the_request_timeout() -> None:
    assert send(f"http://127.0.0.1:{free_port()}", retries=0)["retries"] == 0
    # 0.5 s fits in a 1 s budget, the next 1 s backoff does not
    assert send(f"http://127.0.0.1:{free_port()}", timeout=1)["retries"] == 1


@pytest.mark.parametrize("status", [503, 429, 404])
def test_an_http_error_is_an_answer_not_retried(status: int) -> None:
    with scripted_server(Reply(status=status, body=b'{"error":{"message":"draining"}}')) as server:
        record = send(server.url)
    assert server.received == 1
    assert not record["ok"] and record["retries"] == 0 and record["status"] == status
    assert record["error"].startswith(f"HTTP {status}: ")


def test_a_cut_stream_is_lost_not_retried() -> None:
    with scripted_server(Reply(body=STREAM[: STREAM.index(b"data: [DONE]")], cut=True)) as server:
        record = send(server.url)
    assert server.received == 1
    assert not record["ok"] and record["retries"] == 0 and record["tokens"] == TOKENS, record


def test_an_in_stream_error_fails_the_request() -> None:
    body = (
        b'data: {"choices":[{"delta":{"content":"a"}}]}\n\n'
        b'data: {"error":{"message":"engine died"}}\n\n'
        b"data: [DONE]\n\n"
    )
    with scripted_server(Reply(body=body)) as server:
        record = send(server.url)
    assert not record["ok"] and record["retries"] == 0
    assert record["error"] == "in-stream error: engine died" and record["tokens"] == 1
