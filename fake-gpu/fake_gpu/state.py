"""Per-GPU state directories: the contract between the driver and the engine holding a GPU.

Each GPU of a node has a directory on the node (`<root>/<device>`). Preparing a claim mounts its
GPUs' directories into the containers that use the claim, at `$LLMC_ACCELERATOR_STATE/<device>`
(CDI), and the engine writes `state.json` there: `{"busy": 0.0-1.0, "memory_used_bytes": N,
"updated": unix seconds}`, busy being the fraction of the last interval it had work running. The
driver's metrics endpoint reads it, as DCGM reads a real GPU's counters. A state not updated for
STALE seconds (its engine stopped or hung) reads as idle; preparing and unpreparing clear it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

HOST_ROOT = Path("/var/run/fake-gpu/devices")  # on the node; the driver's pod mounts it at the same path
CONTAINER_DIR = "/var/run/llmc-accelerators"
ENV = "LLMC_ACCELERATOR_STATE"
FILE = "state.json"
STALE = 15.0  # seconds; the engine writes every second


@dataclass(frozen=True)
class DeviceState:
    busy: float = 0.0
    memory_used_bytes: int = 0


def device_dir(root: Path, device: str) -> Path:
    return root / device


def reset(root: Path, device: str) -> None:
    """An empty directory for the device's next holder (created if missing)."""
    folder = device_dir(root, device)
    folder.mkdir(parents=True, exist_ok=True)
    # Writable by whatever user the holder runs as; only the claim's containers get it mounted.
    folder.chmod(0o777)
    (folder / FILE).unlink(missing_ok=True)


def read(root: Path, device: str, now: float | None = None) -> DeviceState:
    """What the holder last wrote; idle when it wrote nothing usable or nothing lately."""
    try:
        raw = json.loads((device_dir(root, device) / FILE).read_text())
        busy, used, updated = float(raw["busy"]), int(raw["memory_used_bytes"]), float(raw["updated"])
    except (OSError, ValueError, KeyError, TypeError):
        return DeviceState()
    if (now if now is not None else time.time()) - updated > STALE:
        return DeviceState()
    return DeviceState(min(1.0, max(0.0, busy)), max(0, used))
