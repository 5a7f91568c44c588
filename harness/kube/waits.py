"""Bounded waits that say what they saw when they give up."""

from __future__ import annotations

import errno
import logging
import socket
import time
import urllib.error
from collections.abc import Callable

import requests
import urllib3.exceptions
from kubernetes.client.exceptions import ApiException

log = logging.getLogger("llmc.wait")
BEAT_SECONDS = 15.0  # a long wait says what it waits for at this beat, so it never looks hung


class WaitTimeout(TimeoutError):
    pass


# What a retry can outlive: the API server or a network path answering badly or not at all.
# Anything else a probe raises (KeyError, TypeError, CheckFailed) is a bug or a verdict, and must
# not read as "still waiting": where a timeout is the passing outcome it would read as a pass.
TRANSIENT: tuple[type[BaseException], ...] = (
    ApiException,
    urllib3.exceptions.HTTPError,
    requests.RequestException,
    urllib.error.URLError,
    ConnectionError,
    TimeoutError,
    socket.gaierror,
)
# Socket errors that are plain OSErrors, not ConnectionErrors: a node or network that is down.
NETWORK_ERRNOS = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.ENETDOWN}


def is_transient(e: BaseException) -> bool:
    if isinstance(e, WaitTimeout):  # a wait inside the probe gave up: its verdict, not a hiccup
        return False
    return isinstance(e, TRANSIENT) or (isinstance(e, OSError) and e.errno in NETWORK_ERRNOS)


def wait_until(check: Callable[[], tuple[bool, str]], timeout: float, what: str, interval: float = 1.0) -> float:
    """Poll `check` (returning done, description of the state) until done; returns the seconds taken.

    For states that cannot be watched (HTTP through a port, a node's network). On timeout the
    error names the goal, the last state seen and the last transient error. A transient error
    (`is_transient`) is a state to report and retry; any other exception from `check` propagates at once.
    """
    started = time.monotonic()
    beat = started + BEAT_SECONDS
    seen, error = "nothing checked yet", ""
    while True:
        try:
            done, seen = check()
        except Exception as e:
            if not is_transient(e):
                raise
            done, seen = False, f"{type(e).__name__}: {e}"
            error = seen
        if done:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            errors = f"; last transient error: {error}" if error and error != seen else ""
            raise WaitTimeout(f"{what}: not reached within {timeout:.0f} s; last seen: {seen}{errors}")
        if time.monotonic() >= beat:
            log.info(
                "waiting for %s: %.0f s of %.0f s; last seen: %.300s", what, time.monotonic() - started, timeout, seen
            )
            beat = time.monotonic() + BEAT_SECONDS
        time.sleep(interval)
