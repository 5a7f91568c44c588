"""What the driver looks like from outside: its own (`default`) or NVIDIA's DRA driver's (`nvidia`).

The `nvidia` personality publishes GPUs as NVIDIA's k8s-dra-driver-gpu v25.3 does (driver and
DeviceClass `gpu.nvidia.com`, devices `gpu-<minor>`, attributes type, uuid, minor, index, productName,
brand, architecture, cudaComputeCapability, driverVersion, cudaDriverVersion, pcieBusID and the
standard pcieRoot; capacity memory) and injects `/dev/nvidia<minor>` with NVIDIA_VISIBLE_DEVICES.
NVIDIA's GPU devices carry no NUMA node and no NVLink attribute (NVLink domains are its ComputeDomain
driver's business), so neither does this personality. NIC devices stay under this project's own
driver in both personalities: NVIDIA's GPU driver publishes no NICs.

A harness imports `PERSONALITIES` to know, without a cluster, which classes and attributes to use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

OWN_DRIVER = "gpu.llm-conformance.io"
NVIDIA_DRIVER = "gpu.nvidia.com"
ENV = "FAKE_GPU_PERSONALITY"
NUMA_ATTRIBUTE = "resource.kubernetes.io/numaNode"
PCIE_ROOT_ATTRIBUTE = "resource.kubernetes.io/pcieRoot"


@dataclass(frozen=True)
class Personality:
    name: str
    gpu_driver: str
    nic_driver: str
    gpu_class: str
    nic_class: str
    device_classes_manifest: str  # in fake_gpu/manifests
    index_attribute: str  # qualified: `<driver>/<name>`
    numa_attribute: str | None  # None: the GPUs carry none
    pcie_root_attribute: str
    interconnect_attribute: str | None  # NVLink clique; None: the GPUs carry none
    device_node_prefix: str  # a GPU's node is the prefix and its index: /dev/nvidia0
    visible_devices_env: str  # names the GPUs a container got
    visible_devices_by_uuid: bool  # by UUID (NVIDIA_VISIBLE_DEVICES), else by device name

    @property
    def drivers(self) -> tuple[str, ...]:
        """Each driver name this personality serves (one kubelet plugin and one pool per node each)."""
        return tuple(dict.fromkeys((self.gpu_driver, self.nic_driver)))

    @property
    def device_node_glob(self) -> str:
        """The GPUs' device nodes only, as AI conformance's probe counts them (`/dev/nvidia[0-9]*`:
        no control devices)."""
        return f"{self.device_node_prefix}[0-9]*"

    def device_node(self, index: int) -> str:
        return f"{self.device_node_prefix}{index}"


DEFAULT = Personality(
    name="default",
    gpu_driver=OWN_DRIVER,
    nic_driver=OWN_DRIVER,
    gpu_class="gpu.llm-conformance.io",
    nic_class="nic.llm-conformance.io",
    device_classes_manifest="device-classes.yaml",
    index_attribute=f"{OWN_DRIVER}/index",
    numa_attribute=NUMA_ATTRIBUTE,
    pcie_root_attribute=PCIE_ROOT_ATTRIBUTE,
    interconnect_attribute=f"{OWN_DRIVER}/nvlinkClique",
    device_node_prefix="/dev/llmc-gpu",
    visible_devices_env="LLMC_GPUS",
    visible_devices_by_uuid=False,
)
NVIDIA = Personality(
    name="nvidia",
    gpu_driver=NVIDIA_DRIVER,
    nic_driver=OWN_DRIVER,
    gpu_class="gpu.nvidia.com",
    nic_class="nic.llm-conformance.io",
    device_classes_manifest="device-classes-nvidia.yaml",
    index_attribute=f"{NVIDIA_DRIVER}/index",
    numa_attribute=None,
    pcie_root_attribute=PCIE_ROOT_ATTRIBUTE,
    interconnect_attribute=None,
    device_node_prefix="/dev/nvidia",
    visible_devices_env="NVIDIA_VISIBLE_DEVICES",
    visible_devices_by_uuid=True,
)
PERSONALITIES = {p.name: p for p in (DEFAULT, NVIDIA)}


def by_name(name: str | None = None) -> Personality:
    """The named personality (default: $FAKE_GPU_PERSONALITY, else `default`)."""
    name = name or os.environ.get(ENV) or DEFAULT.name
    if name not in PERSONALITIES:
        raise ValueError(f"personality {name!r}: expected one of {', '.join(PERSONALITIES)}")
    return PERSONALITIES[name]
