"""CDI specs: one CDI device per prepared claim, whose container edits give every container that uses
the claim its environment, a device node per GPU and each GPU's state directory.

One device per claim (not per GPU): CDI merges environment variables by name, last wins, so lists
such as LLMC_GPUS must be written whole. The container runtime (containerd with `enable_cdi`) reads
the spec from the CDI directory when the kubelet passes it the device's ID, for the containers that
list the claim only.

A GPU's device node is a character device with /dev/null's numbers (1:3): reading it gives nothing,
writing it is discarded, and runc's default device rules already allow it in every container, so
injecting it grants no access a container did not have. What the node name says (`/dev/nvidia0`) is
what probes count, as on a real GPU node.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from fake_gpu import DRIVER, state
from fake_gpu.inventory import NodeInventory
from fake_gpu.personality import DEFAULT, Personality
from fake_gpu.prepare import PreparedClaim
from fake_gpu.slices import gpu_name

CDI_VERSION = "0.6.0"
DEVICE_NODE = {"type": "c", "major": 1, "minor": 3, "permissions": "rw"}  # /dev/null's numbers


def kind(driver: str = DRIVER) -> str:
    return f"{driver}/claim"


def device_id(uid: str, driver: str = DRIVER) -> str:
    return f"{kind(driver)}={uid}"


def spec_path(cdi_dir: Path, uid: str, driver: str = DRIVER) -> Path:
    return cdi_dir / f"{driver}-{uid}.json"


def container_edits(
    claim: PreparedClaim, inv: NodeInventory, personality: Personality = DEFAULT, state_root: Path = state.HOST_ROOT
) -> dict[str, Any]:
    gpus = {gpu_name(g): g for g in inv.gpus}
    held = [gpus[d.device] for d in claim.devices if d.device in gpus]
    edits: dict[str, Any] = {"env": [f"{k}={v}" for k, v in sorted(claim.env.items())]}
    if held:
        edits["deviceNodes"] = [{"path": personality.device_node(g.index), **DEVICE_NODE} for g in held]
        edits["mounts"] = [
            {
                "hostPath": str(state.device_dir(state_root, gpu_name(g))),
                "containerPath": f"{state.CONTAINER_DIR}/{gpu_name(g)}",
                "options": ["rbind", "rw", "nosuid", "nodev"],
            }
            for g in held
        ]
    return edits


def write_spec(cdi_dir: Path, claim: PreparedClaim, edits: dict[str, Any], driver: str = DRIVER) -> str:
    """Write (atomically) the claim's CDI spec; returns its CDI device ID."""
    spec = {"cdiVersion": CDI_VERSION, "kind": kind(driver), "devices": [{"name": claim.uid, "containerEdits": edits}]}
    path = spec_path(cdi_dir, claim.uid, driver)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(spec, indent=1))
    os.replace(tmp, path)
    return device_id(claim.uid, driver)


def remove_spec(cdi_dir: Path, uid: str, driver: str = DRIVER) -> None:
    spec_path(cdi_dir, uid, driver).unlink(missing_ok=True)
