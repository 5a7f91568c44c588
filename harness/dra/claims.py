"""Builders for ResourceClaims on the device profile's classes (the fake driver's by default), and
pods that consume them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fake_gpu import DRIVER
from fake_gpu.slices import NUMA_ATTRIBUTE, PCIE_ROOT_ATTRIBUTE

from harness.dra.profile import KNOWN, OURS, DeviceProfile
from harness.kube.labels import HOSTNAME_LABEL
from harness.kube.objects import busybox_image

NVLINK_CLIQUE = f"{DRIVER}/nvlinkClique"
NUMA = NUMA_ATTRIBUTE
PCIE_ROOT = PCIE_ROOT_ATTRIBUTE
# The fake driver's profile, as a testbed with the default driver resolves it.
FAKE_GPU = DeviceProfile(
    source="the fake GPU driver",
    accelerator_driver=OURS,
    accelerator_class=KNOWN[OURS].accelerator_class,
    nic_class=KNOWN[OURS].nic_class,
    numa=NUMA,
    pcie_root=PCIE_ROOT,
    interconnect=NVLINK_CLIQUE,
    index=f"{DRIVER}/index",
    container="llmc-env",
)


@dataclass
class Claim:
    """`Claim("c").gpus(2).nics(1).match(NUMA).obj()`: a resource.k8s.io/v1 ResourceClaim."""

    name: str
    profile: DeviceProfile = FAKE_GPU
    requests: list[dict[str, Any]] = field(default_factory=list)
    constraints: list[dict[str, Any]] = field(default_factory=list)

    def request(self, name: str, device_class: str, count: int, selector: str | None = None) -> Claim:
        exactly: dict[str, Any] = {"deviceClassName": device_class, "allocationMode": "ExactCount", "count": count}
        if selector:
            exactly["selectors"] = [{"cel": {"expression": selector}}]
        self.requests.append({"name": name, "exactly": exactly})
        return self

    def gpus(self, count: int, selector: str | None = None) -> Claim:
        return self.request("gpu", self.profile.gpu_class(), count, selector)

    def nics(self, count: int, selector: str | None = None) -> Claim:
        return self.request("nic", self.profile.nic(), count, selector)

    def match(self, attribute: str) -> Claim:
        """Every device of every request shares the attribute's value."""
        self.constraints.append({"matchAttribute": attribute})
        return self

    def spec(self) -> dict[str, Any]:
        devices: dict[str, Any] = {"requests": self.requests}
        if self.constraints:
            devices["constraints"] = self.constraints
        return {"devices": devices}

    def obj(self) -> dict[str, Any]:
        return {
            "apiVersion": "resource.k8s.io/v1",
            "kind": "ResourceClaim",
            "metadata": {"name": self.name},
            "spec": self.spec(),
        }

    def template(self) -> dict[str, Any]:
        """A ResourceClaimTemplate named like the claim: every pod that names it gets its own claim
        (the way each member of an LWS group gets its devices), e.g. with
        Engine(resource_claims=({"name": "gpu", "resourceClaimTemplateName": claim.name},))."""
        return {
            "apiVersion": "resource.k8s.io/v1",
            "kind": "ResourceClaimTemplate",
            "metadata": {"name": self.name},
            "spec": {"spec": self.spec()},
        }


def gpu_index_is(index: int, profile: DeviceProfile = FAKE_GPU) -> str:
    return profile.gpu_index_is(index)


def claim_pod(name: str, claim: str, node: str | None = None) -> dict[str, Any]:
    """A pod that holds `claim` and prints what it sees of its devices (its environment and its
    /dev entries, as DEV=<name>), then idles."""
    spec: dict[str, Any] = {
        "terminationGracePeriodSeconds": 1,
        "resourceClaims": [{"name": "devices", "resourceClaimName": claim}],
        "containers": [
            {
                "name": "main",
                "image": busybox_image(),
                "command": ["sh", "-c", "env | sort; ls /dev | sed 's/^/DEV=/'; exec sleep 3600"],
                "resources": {"claims": [{"name": "devices"}], "requests": {"cpu": "5m", "memory": "8Mi"}},
            }
        ],
    }
    if node:
        spec["nodeSelector"] = {HOSTNAME_LABEL: node}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}
