"""The Locust user: streaming OpenAI chat completions, timed token by token.

Runs inside the Locust subprocess that harness/load/runner.py starts (Locust monkey-patches the
process it is imported in, so the harness never imports this module). Each request appends one
JSON line to $LLMC_LOAD_EVENTS; the harness computes every figure from those lines.

The load ends gracefully: after $LLMC_LOAD_DURATION seconds, $LLMC_LOAD_MAX_REQUESTS requests, or
once $LLMC_LOAD_STOP_FILE exists, users send nothing new and Locust quits when the open streams
have ended, so every request sent has its answer recorded. A stream still open when the process is
stopped anyway (the harness's bound) is recorded as unfinished, never dropped.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import gevent
import requests
from locust import HttpUser, constant, events, task
from locust.exception import StopUser

EVENTS = os.environ["LLMC_LOAD_EVENTS"]
MAX_REQUESTS = int(os.environ.get("LLMC_LOAD_MAX_REQUESTS", "0"))  # 0: bounded by time only
MODEL = os.environ.get("LLMC_LOAD_MODEL", "mock-model")
MAX_TOKENS = int(os.environ.get("LLMC_LOAD_MAX_TOKENS", "32"))
PROMPT = " ".join(["hello"] * int(os.environ.get("LLMC_LOAD_PROMPT_WORDS", "16")))
STREAM_TIMEOUT = float(os.environ.get("LLMC_LOAD_REQUEST_TIMEOUT", "120"))
DURATION = float(os.environ.get("LLMC_LOAD_DURATION", "0"))  # 0: until stopped
STOP_FILE = os.environ.get("LLMC_LOAD_STOP_FILE", "")
UNFINISHED = "unfinished: the load was stopped while the stream was open"
# After a failure a user pauses before its next request, as a client backs off: without it, users
# that wait for nothing turn an outage into tens of thousands of instant 503s.
RETRY_PAUSE = 0.2  # seconds

_sent = 0
_open = 0  # streams open now
_deadline = 0.0  # epoch seconds after which no request starts
_quitting = False
# One line per request, for the process's life: never closed, since streams killed at quit still
# write their record after Locust's quitting event.
_sink = open(EVENTS, "a", buffering=1)  # noqa: SIM115


@events.test_start.add_listener
def _start(**_: Any) -> None:
    global _deadline
    _deadline = time.time() + DURATION if DURATION else 0.0


def _finished() -> bool:
    """No new request: the time, the request count or the harness says the load is over."""
    return (
        bool(MAX_REQUESTS and _sent >= MAX_REQUESTS)
        or bool(_deadline and time.time() >= _deadline)
        or bool(STOP_FILE and os.path.exists(STOP_FILE))
    )


def _quit_when_idle(runner: Any) -> None:
    while _open:
        gevent.sleep(0.1)
    runner.quit()


class ChatUser(HttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        # A plain session: Locust's own client would count every stream a second time, timed only
        # to its headers. This user reports each request once, with its full timing.
        self.session = requests.Session()

    @task
    def chat(self) -> None:
        global _sent, _open, _quitting
        if _finished():
            # quit() stops every user greenlet, this one included: run it from its own greenlet,
            # once the streams other users have open are answered.
            if not _quitting and self.environment.runner is not None:
                _quitting = True
                gevent.spawn(_quit_when_idle, self.environment.runner)
            raise StopUser()
        _sent += 1
        _open += 1
        try:
            record = _stream(self.session, f"{self.host}/v1/chat/completions")
        finally:
            _open -= 1
        _sink.write(json.dumps(record) + "\n")
        if record["error"] == UNFINISHED:
            raise gevent.GreenletExit()  # the kill _stream caught: end this user as asked
        events.request.fire(
            request_type="POST",
            name="/v1/chat/completions (stream)",
            response_time=record["e2e"] * 1000,
            response_length=record["tokens"],
            exception=None if record["ok"] else Exception(record["error"]),
            context={},
        )
        if record["ttft"] is not None:
            events.request.fire(
                request_type="TTFT",
                name="time to first token",
                response_time=record["ttft"] * 1000,
                response_length=0,
                exception=None,
                context={},
            )
        if not record["ok"]:
            gevent.sleep(RETRY_PAUSE)


def _stream(session: requests.Session, url: str) -> dict[str, Any]:
    body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": MAX_TOKENS,
        "stream": True,
    }
    started_at = time.time()
    started = time.perf_counter()
    ttft: float | None = None
    gaps: list[float] = []
    last = started
    tokens = 0
    status = 0
    error = ""
    done = False
    try:
        with session.post(url, json=body, stream=True, timeout=STREAM_TIMEOUT) as resp:
            status = resp.status_code
            if status != 200:
                error = f"HTTP {status}: {resp.text[:200]}"
            else:
                buffer = b""
                for chunk in resp.iter_content(chunk_size=None):
                    buffer += chunk
                    while b"\n\n" in buffer:
                        event, buffer = buffer.split(b"\n\n", 1)
                        data = event.decode().removeprefix("data: ").strip()
                        if data == "[DONE]":
                            done = True
                            continue
                        payload = json.loads(data)
                        if "error" in payload:
                            error = f"in-stream error: {payload['error'].get('message', payload['error'])}"
                            continue
                        choices = payload.get("choices") or [{}]
                        if choices[0].get("delta", {}).get("content"):
                            now = time.perf_counter()
                            if ttft is None:
                                ttft = now - started
                            else:
                                gaps.append(now - last)
                            last = now
                            tokens += 1
                if not done and not error:
                    error = "stream ended without [DONE]"
    except Exception as e:  # connection refused, reset, timeout: a failure to record, not to raise
        error = f"{type(e).__name__}: {str(e)[:200]}"
    except gevent.GreenletExit:  # Locust killed this user mid-stream: record it, then end (chat())
        error = UNFINISHED
    return {
        "t": started_at,
        "end": time.time(),
        "ok": not error,
        "status": status,
        "error": error,
        "ttft": ttft,
        "e2e": time.perf_counter() - started,
        "tokens": tokens,
        "itl": gaps,
    }
