"""Bounded waits that say what they saw when they give up."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger("llmc.wait")
BEAT_SECONDS = 15.0  # a long wait says what it waits for at this beat, so it never looks hung


class WaitTimeout(TimeoutError):
    pass


def wait_until(check: Callable[[], tuple[bool, str]], timeout: float, what: str, interval: float = 1.0) -> float:
    """Poll `check` (returning done, description of the state) until done; returns the seconds taken.

    For states that cannot be watched (HTTP through a port, a node's network). On timeout the
    error names the goal and the last state seen.
    """
    started = time.monotonic()
    beat = started + BEAT_SECONDS
    seen = "nothing checked yet"
    while True:
        try:
            done, seen = check()
        except Exception as e:  # a failing probe is a state to report, not a reason to stop waiting
            done, seen = False, f"{type(e).__name__}: {e}"
        if done:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise WaitTimeout(f"{what}: not reached within {timeout:.0f} s; last seen: {seen}")
        if time.monotonic() >= beat:
            log.info(
                "waiting for %s: %.0f s of %.0f s; last seen: %.300s", what, time.monotonic() - started, timeout, seen
            )
            beat = time.monotonic() + BEAT_SECONDS
        time.sleep(interval)
