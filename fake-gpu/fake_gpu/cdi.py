"""CDI specs: one CDI device per prepared claim, whose container edits set the claim's environment.

One device per claim (not per GPU): CDI merges environment variables by name, last wins, so lists
such as LLMC_GPUS must be written whole. The container runtime (containerd with `enable_cdi`) reads
the spec from the CDI directory when the kubelet passes it the device's ID.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from fake_gpu import DRIVER
from fake_gpu.prepare import PreparedClaim

CDI_VERSION = "0.6.0"
KIND = f"{DRIVER}/claim"


def device_id(uid: str) -> str:
    return f"{KIND}={uid}"


def spec_path(cdi_dir: Path, uid: str) -> Path:
    return cdi_dir / f"{DRIVER}-{uid}.json"


def write_spec(cdi_dir: Path, claim: PreparedClaim) -> str:
    """Write (atomically) the claim's CDI spec; returns its CDI device ID."""
    spec = {
        "cdiVersion": CDI_VERSION,
        "kind": KIND,
        "devices": [{"name": claim.uid, "containerEdits": {"env": [f"{k}={v}" for k, v in sorted(claim.env.items())]}}],
    }
    path = spec_path(cdi_dir, claim.uid)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(spec, indent=1))
    os.replace(tmp, path)
    return device_id(claim.uid)


def remove_spec(cdi_dir: Path, uid: str) -> None:
    spec_path(cdi_dir, uid).unlink(missing_ok=True)
