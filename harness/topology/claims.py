"""Claims laid out over every worker's devices to measure alignment over many allocations.

Each layout fills the node (one claim per NIC for GPU+NIC, one per GPU pair for pairs) and is built
so that the scheduler's first-fit choice *without* the constraint is misaligned, deterministically:
the same claims with the constraint must all be aligned, and without it some (NUMA: all) are not.
Claims are allocated in rounds (claim k of every node in round k) because first fit depends on what
the node's earlier claims took.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fake_gpu.inventory import GPU, NodeInventory

from harness.dra.claims import FAKE_GPU, Claim
from harness.dra.install import node_inventories
from harness.dra.profile import DeviceProfile
from harness.spec import Testbed


@dataclass(frozen=True)
class Placed:
    node: str
    claim: Claim


Rounds = list[list[Placed]]


def _numa_claims(inv: NodeInventory, prefix: str, constrained: bool, devices: DeviceProfile) -> list[Claim]:
    """One GPU+NIC claim per NIC. Claim k's GPU sits on the NUMA node of the k-th NIC from the end,
    so first fit (NIC k) lands on another NUMA node wherever NICs are spread over NUMA nodes."""
    nics = sorted(inv.nics, key=lambda n: n.index)
    free = {numa: sorted(g.index for g in inv.gpus if g.numa == numa) for numa in {g.numa for g in inv.gpus}}
    claims = []
    for k, nic in enumerate(reversed(nics)):
        if not free.get(nic.numa):
            continue
        claim = Claim(f"{prefix}-{k}", devices).gpus(1, devices.gpu_index_is(free[nic.numa].pop(0))).nics(1)
        claims.append(claim.match(devices.attribute("numa")) if constrained else claim)
    return claims


def _gpu_sets(inv: NodeInventory, key: Callable[[GPU], object]) -> list[list[int]]:
    by_key: dict[object, list[int]] = {}
    for g in sorted(inv.gpus, key=lambda g: g.index):
        if key(g) is not None:
            by_key.setdefault(key(g), []).append(g.index)
    return sorted(by_key.values())


def _pair_claims(
    sets: list[list[int]], prefix: str, attribute: str, constrained: bool, devices: DeviceProfile
) -> list[Claim]:
    """GPU pairs, as many as the sets hold. The first claim may not take the first set's GPUs but
    its last: first fit pairs that one with the next set's first GPU (misaligned), while the
    constraint takes two GPUs of the next set."""
    pairs = sum(len(s) // 2 for s in sets)
    claims = []
    for k in range(pairs):
        selector = None
        if k == 0 and len(sets) > 1 and len(sets[1]) >= 2 and len(sets[0]) >= 2:
            selector = "!(" + " || ".join(devices.gpu_index_is(i) for i in sets[0][:-1]) + ")"
        claim = Claim(f"{prefix}-{k}", devices).gpus(2, selector)
        claims.append(claim.match(attribute) if constrained else claim)
    return claims


def _node_claims(
    inv: NodeInventory, prefix: str, attribute: str, constrained: bool, devices: DeviceProfile
) -> list[Claim]:
    if attribute == devices.numa:
        return _numa_claims(inv, prefix, constrained, devices)
    if attribute == devices.pcie_root:
        sets = _gpu_sets(inv, lambda g: (g.numa, g.pcie_switch))
        return _pair_claims(sets, prefix, attribute, constrained, devices)
    if attribute == devices.interconnect:
        return _pair_claims(_gpu_sets(inv, lambda g: g.nvlink_clique), prefix, attribute, constrained, devices)
    raise ValueError(f"no claim layout for {attribute}")


def layout(spec: Testbed, attribute: str, constrained: bool = True, devices: DeviceProfile = FAKE_GPU) -> Rounds:
    """Claims filling every worker on `attribute` (one of the device profile's), in allocation rounds."""
    per_node = [
        (inv.node, _node_claims(inv, f"w{w}", attribute, constrained, devices))
        for w, inv in enumerate(node_inventories(spec))
        if inv.gpus
    ]
    depth = max((len(c) for _, c in per_node), default=0)
    return [[Placed(node, claims[k]) for node, claims in per_node if k < len(claims)] for k in range(depth)]


def numa_is(numa: int, devices: DeviceProfile = FAKE_GPU) -> str:
    """A CEL selector: the device sits on NUMA node `numa`."""
    return devices.attribute_is("numa", numa)
