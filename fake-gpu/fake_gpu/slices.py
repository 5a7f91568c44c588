"""resource.k8s.io/v1 objects from a node's inventory: its ResourceSlices and the driver's DeviceClasses.

Attribute names: the NUMA node and the PCIe root use the standard `resource.kubernetes.io/` names, so
one `matchAttribute` constraint aligns a GPU with a NIC (here, or from another driver such as DraNet);
everything else is qualified by the driver's own domain. The personality (fake_gpu.personality)
decides the GPUs' driver and shape; NICs are always this project's own.
"""

from __future__ import annotations

import uuid
from importlib import resources
from typing import Any

from fake_gpu import DRIVER
from fake_gpu.inventory import GPU, NIC, NodeInventory
from fake_gpu.personality import DEFAULT, NUMA_ATTRIBUTE, PCIE_ROOT_ATTRIBUTE, Personality

API_VERSION = "resource.k8s.io/v1"
GPU_CLASS = DEFAULT.gpu_class
NIC_CLASS = DEFAULT.nic_class
# What NVIDIA's driver reads from NVML, the same for every fake GPU (a Hopper part, a 570 driver).
NVIDIA_CONSTANTS = {
    "brand": {"string": "Nvidia"},
    "architecture": {"string": "Hopper"},
    "cudaComputeCapability": {"version": "9.0.0"},
    "driverVersion": {"version": "570.124.6"},
    "cudaDriverVersion": {"version": "12.8.0"},
}
# Stable device UUIDs: the same node and device always get the same one, across restarts and runs.
_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, DRIVER)


def gpu_name(gpu: GPU) -> str:
    return f"gpu-{gpu.index}"


def nic_name(nic: NIC) -> str:
    return f"nic-{nic.index}"


def slice_name(node: str, index: int, driver: str = DRIVER) -> str:
    return f"{node}-{driver}-{index}"


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


def gpu_uuid(inv: NodeInventory, gpu: GPU) -> str:
    return f"GPU-{uuid.uuid5(_UUID_NAMESPACE, f'{inv.node}/{gpu_name(gpu)}')}"


def pcie_bus_id(gpu: GPU) -> str:
    """A distinct PCI address per GPU of a node, in NVML's `domain:bus:device.function` form."""
    return f"0000:{0x18 + gpu.index:02x}:00.0"


def nvidia_gpu_device(inv: NodeInventory, gpu: GPU) -> dict[str, Any]:
    """As NVIDIA's driver (v25.3) publishes a full GPU: no NUMA node, no NVLink clique."""
    attributes = {
        "type": {"string": "gpu"},
        "uuid": {"string": gpu_uuid(inv, gpu)},
        "minor": {"int": gpu.index},
        "index": {"int": gpu.index},
        "productName": {"string": gpu.model},
        **NVIDIA_CONSTANTS,
        "pcieBusID": {"string": pcie_bus_id(gpu)},
        PCIE_ROOT_ATTRIBUTE: {"string": pcie_roots(inv)[gpu.pcie_switch]},
    }
    return {"name": gpu_name(gpu), "attributes": attributes, "capacity": {"memory": {"value": gpu.memory}}}


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


def devices_by_driver(inv: NodeInventory, personality: Personality = DEFAULT) -> dict[str, list[dict[str, Any]]]:
    """Each driver's devices on the node: GPUs first, then NICs (one driver in the default personality)."""
    gpu = nvidia_gpu_device if personality.gpu_driver != DRIVER else gpu_device
    by_driver: dict[str, list[dict[str, Any]]] = {d: [] for d in personality.drivers}
    by_driver[personality.gpu_driver] += [gpu(inv, g) for g in inv.gpus]
    by_driver[personality.nic_driver] += [nic_device(inv, n) for n in inv.nics]
    return by_driver


def resource_slices(
    inv: NodeInventory, personality: Personality = DEFAULT, generation: int = 1
) -> list[dict[str, Any]]:
    """One pool per driver on the node, split in slices of at most 128 devices (a spec allows 1024 a node)."""
    return [
        obj
        for driver, devices in devices_by_driver(inv, personality).items()
        for obj in _pool(inv.node, driver, devices, generation)
    ]


def _pool(node: str, driver: str, devices: list[dict[str, Any]], generation: int) -> list[dict[str, Any]]:
    chunks = [devices[i : i + MAX_DEVICES_PER_SLICE] for i in range(0, len(devices), MAX_DEVICES_PER_SLICE)]
    return [
        {
            "apiVersion": API_VERSION,
            "kind": "ResourceSlice",
            "metadata": {"name": slice_name(node, i, driver), "labels": {"app.kubernetes.io/name": "fake-gpu"}},
            "spec": {
                "driver": driver,
                "nodeName": node,
                "pool": {"name": node, "generation": generation, "resourceSliceCount": len(chunks)},
                "devices": chunk,
            },
        }
        for i, chunk in enumerate(chunks)
    ]


def device_classes(personality: Personality = DEFAULT) -> list[dict[str, Any]]:
    """The personality's DeviceClasses (fake_gpu/manifests/device-classes*.yaml)."""
    import yaml  # here: the installer applies DeviceClasses, the driver's image never reads them

    text = resources.files("fake_gpu").joinpath(f"manifests/{personality.device_classes_manifest}").read_text()
    return [obj for obj in yaml.safe_load_all(text) if obj]
