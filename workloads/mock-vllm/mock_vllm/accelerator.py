"""What the engine does to the GPUs it holds, reported where the fake GPU driver reads it.

The driver mounts each GPU's state directory into the container under $LLMC_ACCELERATOR_STATE
(one subdirectory per GPU) and exports what is written there as DCGM metrics. Every second the
engine writes, into each: the fraction of the last second it had a sequence running (DCGM's GPU
utilisation: time a kernel ran), and the memory in use (model weights plus the KV cache's tokens).
Without the variable (no GPU, or another driver) nothing is written.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from pathlib import Path

from mock_vllm.engine import Engine

log = logging.getLogger("mock_vllm.accelerator")
ENV = "LLMC_ACCELERATOR_STATE"
FILE = "state.json"
WEIGHTS_BYTES = 2 * 2**30  # the mock model's weights, resident while the engine runs
KV_BYTES_PER_TOKEN = 128 * 2**10  # one token's keys and values over the mock model's layers
INTERVAL = 1.0  # seconds per report
SAMPLE = 0.05  # seconds between looks at the scheduler


def memory_used(engine: Engine) -> int:
    return WEIGHTS_BYTES + engine.kv_tokens * KV_BYTES_PER_TOKEN


def write(folder: Path, busy: float, used: int) -> None:
    """Write-then-rename, so the driver never reads half a file."""
    for device in sorted(p for p in folder.iterdir() if p.is_dir()):
        tmp = device / f".{FILE}.tmp"
        tmp.write_text(json.dumps({"busy": round(busy, 3), "memory_used_bytes": used, "updated": time.time()}))
        os.replace(tmp, device / FILE)


async def report(engine: Engine, folder: Path) -> None:
    """Until cancelled: sample whether a sequence runs, and write the busy fraction each interval."""
    while True:
        samples = busy = 0
        started = time.monotonic()
        while time.monotonic() - started < INTERVAL:
            samples += 1
            busy += engine.scheduler.running > 0
            await asyncio.sleep(SAMPLE)
        try:
            write(folder, busy / samples, memory_used(engine))
        except OSError as e:  # the claim went away under a draining engine: nothing left to report to
            log.warning("cannot write accelerator state under %s: %s", folder, e)


def start(engine: Engine) -> asyncio.Task[None] | None:
    """The reporting task when the driver gave this container GPU state directories, else None."""
    folder = os.environ.get(ENV)
    if not folder:
        return None
    log.info("reporting GPU utilisation and memory under %s", folder)
    return asyncio.get_running_loop().create_task(report(engine, Path(folder)))
