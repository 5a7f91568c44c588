"""Placement: the devices and rack a member was given, and what a group's placement costs.

The fake GPU driver injects these variables through CDI (the contract is in workloads/mock-vllm/README.md):
LLMC_GPUS, LLMC_GPU_NUMA, LLMC_NICS, LLMC_NIC_NUMA, LLMC_RACK, and LLMC_NODE (the downward API may set
it). Missing variables mean "unknown": no penalty, reported as unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


class PlacementError(ValueError):
    pass


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())


def _numa(env: Mapping[str, str], name: str, devices: tuple[str, ...], devices_name: str) -> tuple[int, ...]:
    raw = _list(env, name)
    if not raw:
        return ()
    try:
        numa = tuple(int(n) for n in raw)
    except ValueError:
        raise PlacementError(f"{name}: {env[name]!r} must be a comma list of NUMA node numbers") from None
    if len(numa) != len(devices):
        raise PlacementError(f"{name}: {len(numa)} NUMA nodes for {len(devices)} devices in {devices_name}")
    return numa


@dataclass(frozen=True)
class Placement:
    gpus: tuple[str, ...] = ()
    gpu_numa: tuple[int, ...] = ()  # NUMA node of each GPU, same order
    nics: tuple[str, ...] = ()
    nic_numa: tuple[int, ...] = ()
    rack: str = ""
    node: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Placement:
        gpus, nics = _list(env, "LLMC_GPUS"), _list(env, "LLMC_NICS")
        return cls(
            gpus=gpus,
            gpu_numa=_numa(env, "LLMC_GPU_NUMA", gpus, "LLMC_GPUS"),
            nics=nics,
            nic_numa=_numa(env, "LLMC_NIC_NUMA", nics, "LLMC_NICS"),
            rack=env.get("LLMC_RACK", "").strip(),
            node=env.get("LLMC_NODE", "").strip(),
        )

    @classmethod
    def from_json(cls, data: Any) -> Placement:
        """A member's report in the ring handshake; raises PlacementError when it is malformed."""
        if not isinstance(data, dict):
            raise PlacementError("placement: must be an object")
        try:
            return cls(
                gpus=tuple(str(g) for g in data.get("gpus", ())),
                gpu_numa=tuple(int(n) for n in data.get("gpu_numa", ())),
                nics=tuple(str(n) for n in data.get("nics", ())),
                nic_numa=tuple(int(n) for n in data.get("nic_numa", ())),
                rack=str(data.get("rack", "")),
                node=str(data.get("node", "")),
            )
        except (TypeError, ValueError) as e:
            raise PlacementError(f"placement: {e}") from None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def numa_known(self) -> bool:
        return bool(self.gpu_numa) and bool(self.nic_numa)

    @property
    def numa_aligned(self) -> bool | None:
        """Every GPU has a NIC on its NUMA node (GPUDirect RDMA without crossing the socket); None: unknown."""
        if not self.numa_known:
            return None
        return set(self.gpu_numa) <= set(self.nic_numa)


@dataclass(frozen=True)
class GroupPlacement:
    """What the leader saw of its whole group, and the inter-token slowdown that follows."""

    members: dict[int, Placement] = field(default_factory=dict)  # by worker index

    def verdicts(self) -> dict[str, bool | None]:
        aligned = [p.numa_aligned for p in self.members.values()]
        racks = {p.rack for p in self.members.values() if p.rack}
        all_racks_known = all(p.rack for p in self.members.values())
        return {
            "numa_aligned": False if False in aligned else (None if None in aligned else True),
            # One known rack with some unknown ones could still be cross-rack: only say what was seen.
            "cross_rack": True if len(racks) > 1 else (False if all_racks_known and racks else None),
        }

    def slowdown(self, numa_misaligned: float, cross_rack: float) -> float:
        verdicts = self.verdicts()
        factor = 1.0
        # A known-misaligned member slows the whole ring, whatever the others are.
        if any(p.numa_aligned is False for p in self.members.values()):
            factor *= numa_misaligned
        if verdicts["cross_rack"]:
            factor *= cross_rack
        return factor

    def to_json(self) -> dict[str, Any]:
        return {
            "members": {str(i): p.to_json() for i, p in sorted(self.members.items())},
            "racks": sorted({p.rack for p in self.members.values() if p.rack}),
            **self.verdicts(),
        }
