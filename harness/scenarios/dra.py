"""The dra suite's claims (suites/test_dra.py), shared with its negative controls
(tests/cluster/test_dra_negative.py): each claim is one that first fit gets wrong, so its constraint
is what the check tests; the control is the same claim without the constraint.
"""

from __future__ import annotations

from harness import timeouts
from harness.checks import NotApplicable
from harness.dra.claims import FAKE_GPU, Claim, claim_pod
from harness.dra.profile import DeviceProfile
from harness.kube.client import Clients
from harness.kube.labels import RESOURCE_API
from harness.kube.objects import create, delete, wait_deleted
from harness.spec.model import HardwareProfile


def nvlink_claim(profile: HardwareProfile, constrained: bool = True, devices: DeviceProfile = FAKE_GPU) -> Claim:
    """Two GPUs, with every GPU of the lowest-numbered GPU's clique but that GPU left out: first fit
    takes it and the next clique's first GPU, straddling two cliques; the constraint must take two of
    the next clique instead."""
    attribute = devices.attribute("interconnect")
    cliques = [c for c in profile.nvlink_cliques if len(c) >= 2]
    if len(cliques) < 2:
        raise NotApplicable(f"profile {profile.name}: {len(cliques)} NVLink cliques of two or more GPUs; needs 2")
    first = min(cliques, key=min)
    excluded = sorted(set(first) - {min(first)})
    claim = Claim("clique" if constrained else "clique-free", devices).gpus(
        2, " && ".join(f"!({devices.gpu_index_is(i)})" for i in excluded)
    )
    return claim.match(attribute) if constrained else claim


def numa_claim(constrained: bool = True, devices: DeviceProfile = FAKE_GPU) -> Claim:
    """GPU 2 (on NUMA 1 of the shipped profiles) and a NIC: first fit takes nic-0 on NUMA 0."""
    attribute = devices.attribute("numa")
    claim = Claim("numa" if constrained else "numa-free", devices).gpus(1, devices.gpu_index_is(2)).nics(1)
    return claim.match(attribute) if constrained else claim


def pcie_claim(constrained: bool = True, devices: DeviceProfile = FAKE_GPU) -> Claim:
    """Two GPUs without GPU 1: first fit takes GPUs 0 and 2 (two PCIe switches); the constraint must
    take 2 and 3."""
    attribute = devices.attribute("pcie_root")
    claim = Claim("pcie" if constrained else "pcie-free", devices).gpus(2, f"!({devices.gpu_index_is(1)})")
    return claim.match(attribute) if constrained else claim


def submit(kube: Clients, namespace: str, claim: Claim, node: str | None = None) -> tuple[str, str]:
    """The claim and a pod holding it (on `node` when given); their names."""
    create(kube, claim.obj(), namespace)
    pod = claim_pod(f"{claim.name}-pod", claim.name, node)
    create(kube, pod, namespace)
    return claim.name, pod["metadata"]["name"]


def release(kube: Clients, namespace: str, claim: str, pod: str) -> None:
    """Delete a pod and its claim and wait until the claim (and so its devices) is gone."""
    kube.core.delete_namespaced_pod(pod, namespace, grace_period_seconds=0)
    delete(kube, RESOURCE_API, "ResourceClaim", claim, namespace)
    wait_deleted(kube, RESOURCE_API, "ResourceClaim", claim, namespace, timeout=timeouts.REACTION)
