"""A node's fake devices as the driver sees them: plain data, read from JSON (the image's ConfigMap)
or derived from a testbed spec (when the harness is installed).

The JSON document holds every node, so one ConfigMap serves the whole DaemonSet:
`{"nodes": {"<node>": {"rack": "rack-1", "gpus": [{...}], "nics": [{...}]}}}`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


class InventoryError(ValueError):
    """An inventory that cannot be used; the message names the field."""


@dataclass(frozen=True)
class GPU:
    index: int
    numa: int
    pcie_switch: str
    model: str
    memory: str
    nvlink_clique: int | None


@dataclass(frozen=True)
class NIC:
    index: int
    numa: int
    pcie_switch: str
    model: str
    rdma: bool


@dataclass(frozen=True)
class NodeInventory:
    node: str
    rack: str | None
    gpus: tuple[GPU, ...]
    nics: tuple[NIC, ...]

    def to_json(self) -> dict[str, Any]:
        return {"rack": self.rack, "gpus": [asdict(g) for g in self.gpus], "nics": [asdict(n) for n in self.nics]}


def _field(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in obj:
        raise InventoryError(f"{where}.{key}: missing")
    value = obj[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InventoryError(f"{where}.{key}: expected {getattr(kind, '__name__', kind)}, got {value!r}")
    return value


def _gpu(raw: dict[str, Any], where: str) -> GPU:
    clique = raw.get("nvlink_clique")
    if clique is not None and (not isinstance(clique, int) or isinstance(clique, bool)):
        raise InventoryError(f"{where}.nvlink_clique: expected int or null, got {clique!r}")
    return GPU(
        index=_field(raw, "index", int, where),
        numa=_field(raw, "numa", int, where),
        pcie_switch=_field(raw, "pcie_switch", str, where),
        model=_field(raw, "model", str, where),
        memory=_field(raw, "memory", str, where),
        nvlink_clique=clique,
    )


def _nic(raw: dict[str, Any], where: str) -> NIC:
    return NIC(
        index=_field(raw, "index", int, where),
        numa=_field(raw, "numa", int, where),
        pcie_switch=_field(raw, "pcie_switch", str, where),
        model=_field(raw, "model", str, where),
        rdma=_field(raw, "rdma", bool, where),
    )


def from_json(document: dict[str, Any], node: str) -> NodeInventory:
    nodes = document.get("nodes")
    if not isinstance(nodes, dict):
        raise InventoryError("nodes: expected a mapping of node name to inventory")
    if node not in nodes:
        raise InventoryError(f"nodes.{node}: no inventory for this node; known: {', '.join(sorted(nodes)) or 'none'}")
    raw = nodes[node]
    where = f"nodes.{node}"
    rack = raw.get("rack")
    if rack is not None and not isinstance(rack, str):
        raise InventoryError(f"{where}.rack: expected a string or null, got {rack!r}")
    gpus = tuple(_gpu(g, f"{where}.gpus[{i}]") for i, g in enumerate(_field(raw, "gpus", list, where)))
    nics = tuple(_nic(n, f"{where}.nics[{i}]") for i, n in enumerate(_field(raw, "nics", list, where)))
    return NodeInventory(node, rack, gpus, nics)


def load(path: Path, node: str) -> NodeInventory:
    try:
        document = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise InventoryError(f"{path}: cannot read the inventory: {e}") from e
    return from_json(document, node)


def from_spec(path: Path, node: str) -> NodeInventory:
    """The node's inventory from a testbed spec, through the harness's own spec loader."""
    try:
        from harness.spec import load_spec  # optional: the `spec` extra
    except ImportError as e:
        raise InventoryError("--spec needs the harness installed (`pip install fake-gpu[spec]`)") from e
    testbed = load_spec(path)
    found = next((n for n in testbed.nodes if n.name == node), None)
    if found is None:
        raise InventoryError(f"{path}: no node {node!r}; nodes: {', '.join(n.name for n in testbed.nodes)}")
    if found.hardware is None:
        raise InventoryError(f"{path}: node {node!r} has no hardware profile")
    return from_spec_node(found)


def from_spec_node(node: Any) -> NodeInventory:
    """From a `harness.spec.model.Node` with hardware (typed loosely: the harness is optional here)."""
    gpus, nics = node.hardware.inventory()
    return NodeInventory(
        node=node.name,
        rack=node.rack,
        gpus=tuple(GPU(g.index, g.numa, g.pcie_switch, g.model, g.memory, g.nvlink_clique) for g in gpus),
        nics=tuple(NIC(n.index, n.numa, n.pcie_switch, n.model, n.rdma) for n in nics),
    )


def document(inventories: list[NodeInventory]) -> dict[str, Any]:
    """The JSON document `from_json` reads: every node's inventory."""
    return {"nodes": {inv.node: inv.to_json() for inv in inventories}}
