"""The few Docker CLI calls image building needs (BuildKit builds are the CLI's job)."""

from __future__ import annotations

import json
import subprocess


def run(*args: str, capture: bool = True) -> str:
    proc = subprocess.run(["docker", *args], capture_output=capture, text=True)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout or "").strip() if capture else ""
        raise RuntimeError(f"docker {' '.join(args[:3])} ... failed (exit {proc.returncode}): {detail[-3000:]}")
    return proc.stdout if capture else ""


def image_exists(name: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", name], capture_output=True).returncode == 0


def image_label(name: str, label: str) -> str | None:
    proc = subprocess.run(["docker", "image", "inspect", name], capture_output=True, text=True)
    if proc.returncode != 0:
        return None
    labels = json.loads(proc.stdout)[0]["Config"].get("Labels") or {}
    value = labels.get(label)
    return value if isinstance(value, str) else None
