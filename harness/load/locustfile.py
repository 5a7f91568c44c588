"""The Locust user: streaming OpenAI chat completions, timed token by token.

Runs inside the Locust subprocess that harness/load/runner.py starts (Locust monkey-patches the
process it is imported in, so the harness never imports this module; the runner puts the harness
package on its PYTHONPATH for harness.load.client). Each request (an Exchange: its attempts, retries
included) appends one JSON line to $LLMC_LOAD_EVENTS; the harness computes every figure from those lines.

The load ends gracefully: after $LLMC_LOAD_DURATION seconds, $LLMC_LOAD_MAX_REQUESTS requests, or
once $LLMC_LOAD_STOP_FILE exists, users send nothing new and Locust quits when the open requests
have ended (a retry of an unanswered attempt is not new: it is still that request), so every request
sent has its answer recorded. A stream still open when the process is
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

from harness.load.client import Exchange

EVENTS = os.environ["LLMC_LOAD_EVENTS"]
MAX_REQUESTS = int(os.environ.get("LLMC_LOAD_MAX_REQUESTS", "0"))  # 0: bounded by time only
PROMPT = " ".join(["hello"] * int(os.environ.get("LLMC_LOAD_PROMPT_WORDS", "16")))
BODY = {
    "model": os.environ.get("LLMC_LOAD_MODEL", "mock-model"),
    "messages": [{"role": "user", "content": PROMPT}],
    "max_tokens": int(os.environ.get("LLMC_LOAD_MAX_TOKENS", "32")),
    "stream": True,
}
STREAM_TIMEOUT = float(os.environ.get("LLMC_LOAD_REQUEST_TIMEOUT", "120"))
RETRIES = int(os.environ.get("LLMC_LOAD_RETRIES", "2"))  # of an attempt the server never answered
DURATION = float(os.environ.get("LLMC_LOAD_DURATION", "0"))  # 0: until stopped
STOP_FILE = os.environ.get("LLMC_LOAD_STOP_FILE", "")
UNFINISHED = "unfinished: the load was stopped while the stream was open"
# After a failed request a user pauses before its next one, as a client backs off: without it, users
# that wait for nothing turn an outage into tens of thousands of instant 503s.
FAILURE_PAUSE = 0.2  # seconds

_sent = 0
_open = 0  # requests open now (streaming, or between attempts)
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
        exchange = Exchange(f"{self.host}/v1/chat/completions", BODY, STREAM_TIMEOUT, RETRIES)
        try:
            exchange.run(self.session)  # retries, if any, are this request's: open until answered
        except gevent.GreenletExit:  # Locust killed this user mid-request: record it, then end the user
            exchange.fail(UNFINISHED)
        finally:
            _open -= 1
        record = exchange.record()
        _sink.write(json.dumps(record) + "\n")
        if record["error"] == UNFINISHED:
            raise gevent.GreenletExit()
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
            gevent.sleep(FAILURE_PAUSE)
