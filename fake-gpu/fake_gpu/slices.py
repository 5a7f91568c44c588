"""resource.k8s.io/v1 objects from a node's inventory: its ResourceSlice and the driver's DeviceClasses.

Attribute names: the NUMA node and the PCIe root use the standard `resource.kubernetes.io/` names, so
one `matchAttribute` constraint aligns a GPU with a NIC (here, or from another driver such as DraNet);
everything else is qualified by the driver's own domain.
"""

from __future__ import annotations

import uuid
from typing import Any

from fake_gpu import DRIVER
from fake_gpu.inventory import GPU, NIC, NodeInventory

API_VERSION = "resource.k8s.io/v1"
NUMA_ATTRIBUTE = "resource.kubernetes.io/numaNode"
PCIE_ROOT_ATTRIBUTE = "resource.kubernetes.io/pcieRoot"
GPU_CLASS = f"gpu.{DRIVER.split('.', 1)[1]}"  # gpu.llm-conformance.io
NIC_CLASS = f"nic.{DRIVER.split('.', 1)[1]}"
# Stable device UUIDs: the same node and device always get the same one, across restarts and runs.
_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, DRIVER)


def gpu_name(gpu: GPU) -> str:
    return f"gpu-{gpu.index}"


def nic_name(nic: NIC) -> str:
    return f"nic-{nic.index}"


def slice_name(node: str, index: int) -> str:
    return f"{node}-{DRIVER}-{index}"


def pcie_roots(inv: NodeInventory) -> dict[str, str]:
    """One root complex per PCIe switch (as on servers where each switch hangs off its own root
    port), so "same pcieRoot" means "same switch"; named like Linux's `pci<domain>:<bus>`."""
    switches = sorted({(g.numa, g.pcie_switch) for g in inv.gpus} | {(n.numa, n.pcie_switch) for n in inv.nics})
    return {switch: f"pci0000:{i:02x}" for i, (_, switch) in enumerate(switches)}


def _common(inv: NodeInventory, kind: str, name: str, numa: int, switch: str, model: str) -> dict[str, Any]:
    return {
        "type": {"string": kind},
        "uuid": {"string": f"{kind.upper()}-{uuid.uuid5(_UUID_NAMESPACE, f'{inv.node}/{name}')}"},
        "model": {"string": model},
        "pcieSwitch": {"string": switch},
        NUMA_ATTRIBUTE: {"int": numa},
        PCIE_ROOT_ATTRIBUTE: {"string": pcie_roots(inv)[switch]},
    }


def gpu_device(inv: NodeInventory, gpu: GPU) -> dict[str, Any]:
    attributes = _common(inv, "gpu", gpu_name(gpu), gpu.numa, gpu.pcie_switch, gpu.model)
    attributes["index"] = {"int": gpu.index}
    if gpu.nvlink_clique is not None:  # absent, not -1: a GPU outside every clique matches no clique
        attributes["nvlinkClique"] = {"int": gpu.nvlink_clique}
    return {"name": gpu_name(gpu), "attributes": attributes, "capacity": {"memory": {"value": gpu.memory}}}


def nic_device(inv: NodeInventory, nic: NIC) -> dict[str, Any]:
    attributes = _common(inv, "nic", nic_name(nic), nic.numa, nic.pcie_switch, nic.model)
    attributes["index"] = {"int": nic.index}
    attributes["rdma"] = {"bool": nic.rdma}
    return {"name": nic_name(nic), "attributes": attributes}


MAX_DEVICES_PER_SLICE = 128  # resource.k8s.io/v1 validation


def resource_slices(inv: NodeInventory, generation: int = 1) -> list[dict[str, Any]]:
    """The node's one pool, split in slices of at most 128 devices (a spec allows 1024 a node)."""
    devices = [gpu_device(inv, g) for g in inv.gpus] + [nic_device(inv, n) for n in inv.nics]
    chunks = [devices[i : i + MAX_DEVICES_PER_SLICE] for i in range(0, len(devices), MAX_DEVICES_PER_SLICE)]
    return [
        {
            "apiVersion": API_VERSION,
            "kind": "ResourceSlice",
            "metadata": {"name": slice_name(inv.node, i), "labels": {"app.kubernetes.io/name": "fake-gpu"}},
            "spec": {
                "driver": DRIVER,
                "nodeName": inv.node,
                "pool": {"name": inv.node, "generation": generation, "resourceSliceCount": len(chunks)},
                "devices": chunk,
            },
        }
        for i, chunk in enumerate(chunks)
    ]


def device_class(name: str, device_type: str) -> dict[str, Any]:
    expression = f'device.driver == "{DRIVER}" && device.attributes["{DRIVER}"].type == "{device_type}"'
    return {
        "apiVersion": API_VERSION,
        "kind": "DeviceClass",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/name": "fake-gpu"}},
        "spec": {"selectors": [{"cel": {"expression": expression}}]},
    }


def device_classes() -> list[dict[str, Any]]:
    return [device_class(GPU_CLASS, "gpu"), device_class(NIC_CLASS, "nic")]
