"""What preparing a claim means for a fake device: the LLMC_* environment that tells the container
which GPUs and NICs it got and where they sit (the contract in workloads/mock-vllm/README.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fake_gpu import DRIVER
from fake_gpu.inventory import NodeInventory
from fake_gpu.slices import gpu_name, nic_name


class PrepareError(RuntimeError):
    """The claim cannot be prepared on this node; the message goes back to the kubelet."""


@dataclass(frozen=True)
class AllocatedDevice:
    request: str
    pool: str
    device: str


@dataclass(frozen=True)
class PreparedClaim:
    uid: str
    namespace: str
    name: str
    devices: tuple[AllocatedDevice, ...]
    env: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "namespace": self.namespace,
            "name": self.name,
            "devices": [{"request": d.request, "pool": d.pool, "device": d.device} for d in self.devices],
            "env": self.env,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> PreparedClaim:
        devices = tuple(AllocatedDevice(d["request"], d["pool"], d["device"]) for d in raw["devices"])
        return cls(raw["uid"], raw["namespace"], raw["name"], devices, dict(raw["env"]))


def prepare(inv: NodeInventory, claim: dict[str, Any], uid: str) -> PreparedClaim:
    """The claim's devices on this node and its environment. `claim` is the ResourceClaim as read from
    the API server; `uid` the one the kubelet asked for (a recreated claim has another)."""
    meta = claim.get("metadata", {})
    where = f"ResourceClaim {meta.get('namespace')}/{meta.get('name')}"
    if meta.get("uid") != uid:
        raise PrepareError(f"{where}: metadata.uid is {meta.get('uid')}, the kubelet asked for {uid}")
    allocation = claim.get("status", {}).get("allocation")
    if not allocation:
        raise PrepareError(f"{where}: status.allocation is missing: the claim is not allocated")
    gpus = {gpu_name(g): g for g in inv.gpus}
    nics = {nic_name(n): n for n in inv.nics}
    devices = []
    for r in allocation.get("devices", {}).get("results", []):
        if r.get("driver") != DRIVER:
            continue  # another driver's device in the same claim
        if r.get("pool") != inv.node:
            raise PrepareError(f"{where}: device {r.get('pool')}/{r.get('device')} is not on node {inv.node}")
        if r.get("device") not in gpus and r.get("device") not in nics:
            raise PrepareError(f"{where}: device {r.get('device')} is not in {inv.node}'s inventory")
        devices.append(AllocatedDevice(r.get("request", ""), r["pool"], r["device"]))
    got_gpus = [gpus[d.device] for d in devices if d.device in gpus]
    got_nics = [nics[d.device] for d in devices if d.device in nics]
    env = {
        "LLMC_GPUS": ",".join(gpu_name(g) for g in got_gpus),
        "LLMC_GPU_NUMA": ",".join(str(g.numa) for g in got_gpus),
        "LLMC_NICS": ",".join(nic_name(n) for n in got_nics),
        "LLMC_NIC_NUMA": ",".join(str(n.numa) for n in got_nics),
    }
    env = {k: v for k, v in env.items() if v}  # absent means "none/unknown" in the contract
    if inv.rack:
        env["LLMC_RACK"] = inv.rack
    return PreparedClaim(uid, meta.get("namespace", ""), meta.get("name", ""), tuple(devices), env)
