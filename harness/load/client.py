"""One streaming chat completion, sent as an OpenAI client sends it, timed token by token.

No Locust here: the Locust user (locustfile.py) runs an Exchange per request and writes its record.
Like the OpenAI SDK (max_retries=2, backoff from 0.5 s doubling), an attempt that failed before any
response byte arrived (connection refused or reset, a kept-alive connection the server closed without
answering, a connect timeout) is retried: the server never answered it. An HTTP error status is an
answer (a draining engine's 503, a full queue's 429) and a stream that started and was cut is lost:
neither is retried, so the checks see them.
"""

from __future__ import annotations

import builtins
import json
import time
from typing import Any

import requests
import urllib3.exceptions

from harness.load.sse import EventStream

CONNECT_TIMEOUT = 5.0  # seconds, the OpenAI SDK's: a dead address is retried, not waited on for minutes
MAX_BACKOFF = 8.0  # seconds, the OpenAI SDK's cap


def backoff(retry: int) -> float:
    """Seconds before retry number `retry` (0-based): 0.5, 1, 2, ... up to 8 (the SDK's, without jitter)."""
    return float(min(0.5 * 2**retry, MAX_BACKOFF))


class Exchange:
    """A request and its attempts. Its state is kept on the object, so a user killed mid-request
    (Locust quitting) still has a record to write: `fail(...)`, then `record()`."""

    def __init__(self, url: str, body: dict[str, Any], timeout: float, retries: int) -> None:
        self.url, self.body, self.timeout, self.retries = url, body, timeout, retries
        self.t = time.time()  # the first attempt's start: the request's place on the timeline
        self.started = time.perf_counter()
        self.retry_errors: list[str] = []
        self._reset()

    def _reset(self) -> None:
        """A fresh attempt: every figure but the retries describes the final one."""
        self.attempt_t = time.time()
        self.attempt_started = time.perf_counter()
        self.status = 0
        self.error = ""
        self.ttft: float | None = None
        self.gaps: list[float] = []
        self.tokens = 0
        self._last = self.attempt_started
        self._done = False

    def run(self, session: requests.Session) -> None:
        """Send until answered, out of retries, or out of the request timeout's budget. Retries happen
        even once the load is stopped: the request is in flight, not new."""
        while True:
            unanswered = self._attempt(session)
            if unanswered is None:
                return
            pause = backoff(len(self.retry_errors))
            out_of_budget = time.perf_counter() - self.started + pause >= self.timeout
            if len(self.retry_errors) >= self.retries or out_of_budget:
                self.error = unanswered
                return
            self.retry_errors.append(unanswered)
            time.sleep(pause)  # gevent's sleep under Locust (monkey-patched)
            self._reset()

    def fail(self, error: str) -> None:
        self.error = error

    def record(self) -> dict[str, Any]:
        """One line of requests.jsonl."""
        return {
            "t": self.t,
            "attempt_t": self.attempt_t,
            "end": time.time(),
            "ok": not self.error,
            "status": self.status,
            "error": self.error,
            # from the final attempt's send: the time the server that answered took to its first token
            "ttft": self.ttft,
            "e2e": time.perf_counter() - self.started,  # every attempt and backoff
            "tokens": self.tokens,
            "itl": self.gaps,
            "retries": len(self.retry_errors),
            "retry_errors": self.retry_errors,
        }

    def _attempt(self, session: requests.Session) -> str | None:
        """One attempt; returns its error if the server never answered it (a retry may follow)."""
        try:
            resp = session.post(
                self.url, json=self.body, stream=True, timeout=(min(CONNECT_TIMEOUT, self.timeout), self.timeout)
            )
        except requests.RequestException as e:  # no response: refused, reset, timed out
            if unanswered(e):
                return describe(e)
            self.error = describe(e)
            return None
        try:
            with resp:
                self.status = resp.status_code
                if self.status != 200:
                    self.error = f"HTTP {self.status}: {resp.text[:200]}"
                    return None
                events = EventStream()
                for chunk in resp.iter_content(chunk_size=None):
                    for data in events.feed(chunk):
                        self._event(data)
                if not self._done and not self.error:
                    self.error = "stream ended without [DONE]"
        except Exception as e:  # the stream was cut or malformed after it started: a failure to record
            self.error = describe(e)
        return None

    def _event(self, data: str) -> None:
        if data == "[DONE]":
            self._done = True
            return
        payload = json.loads(data)
        if "error" in payload:  # headers were sent: an engine that fails mid-stream says so in-band
            error = payload["error"]
            self.error = f"in-stream error: {error.get('message', error) if isinstance(error, dict) else error}"
            return
        choices = payload.get("choices") or [{}]
        if choices[0].get("delta", {}).get("content"):
            now = time.perf_counter()
            if self.ttft is None:
                self.ttft = now - self.attempt_started
            else:
                self.gaps.append(now - self._last)
            self._last = now
            self.tokens += 1


def unanswered(e: requests.RequestException) -> bool:
    """The attempt failed at the connection, before any response byte: nothing was answered."""
    if isinstance(e, requests.ConnectTimeout):
        return True
    if not isinstance(e, requests.ConnectionError) or isinstance(e, requests.exceptions.SSLError):
        return False
    # refused, reset, aborted, and RemoteDisconnected (a ConnectionResetError: no status line at all)
    return any(isinstance(c, builtins.ConnectionError | urllib3.exceptions.NewConnectionError) for c in _causes(e))


def describe(e: BaseException) -> str:
    """Short: the exception's type and its root cause, e.g. 'ConnectionError: RemoteDisconnected: Remote
    end closed connection without response' instead of urllib3's pool and URL."""
    root = _causes(e)[-1]
    text = f"{type(e).__name__}: {e}" if root is e else f"{type(e).__name__}: {type(root).__name__}: {root}"
    return text[:200]


def _causes(e: BaseException) -> list[BaseException]:
    """`e` and what it wraps, outermost first: requests wraps urllib3's errors in args, urllib3 wraps
    the socket's in `reason`, in args or as the cause."""
    chain = [e]
    while len(chain) < 10:
        current = chain[-1]
        reason = getattr(current, "reason", None)
        wrapped = [a for a in (current.__cause__, reason, *current.args) if isinstance(a, BaseException)]
        if not wrapped or wrapped[0] in chain:
            break
        chain.append(wrapped[0])
    return chain
