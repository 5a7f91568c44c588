"""Clean-up that a first Ctrl-C or SIGTERM does not cut short: an interrupted run is most often
interrupted while it tears its testbed down (the longest step at the end), and a half-deleted
testbed leaves containers and networks behind. The first interrupt is noted and the clean-up goes
on; a second one abandons it, naming what is left."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

log = logging.getLogger("llmc.cluster")
SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def shielded(what: str, left: str) -> Iterator[None]:
    """Run the block (a clean-up, `what`) to its end through one interrupt; a second interrupt raises
    KeyboardInterrupt, and the message names `left`, what a user must then remove. Signal handlers
    exist only on the main thread: elsewhere the block runs unshielded."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    interrupts = 0

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts == 1:
            log.warning("%s: interrupted; cleaning up anyway (interrupt again to abandon it, leaving %s)", what, left)
            return
        raise KeyboardInterrupt(f"{what} abandoned: left behind {left}")

    previous = {s: signal.signal(s, handler) for s in SIGNALS}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
    if interrupts:
        # The run was asked to stop: once clean, it stops, as the interrupt meant.
        raise KeyboardInterrupt(f"{what} finished after an interrupt")
