"""DRA checks on the cluster's devices (the device profile's): what the real scheduler allocated for a
claim, whether it honours the claim's constraints, and whether the container sees its devices. Each
raises CheckFailed with the evidence, or returns figures.

The suite (suites/test_dra.py) runs them; tests/cluster/test_dra_negative.py runs each on a claim
that lacks the constraint (or is satisfiable) and expects it to fail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fake_gpu import DRIVER
from fake_gpu.slices import NUMA_ATTRIBUTE as NUMA

from harness.checks import CheckFailed
from harness.dra.profile import DeviceProfile
from harness.kube.client import Clients
from harness.kube.waits import WaitTimeout, wait_until
from harness.topology.allocations import Allocated, pod_state, read_claim

TYPE = f"{DRIVER}/type"


def check_aligned(devices: list[Allocated], attribute: str) -> None:
    """Every allocated device carries `attribute` with one and the same value."""
    values = {str(d): d.attributes.get(attribute) for d in devices}
    if len(devices) < 2:
        raise CheckFailed(f"alignment on {attribute} needs at least 2 devices; allocated: {values}")
    if None in values.values() or len(set(values.values())) != 1:
        raise CheckFailed(f"devices not aligned on {attribute}: {values}")


@dataclass(frozen=True)
class PendingSeen:
    """A pod with a claim, as the scheduler left it."""

    pod: str
    node: str  # "" while not scheduled
    unschedulable: str | None  # the scheduler's message when it found the pod Unschedulable
    allocation: dict[str, Any] | None  # the claim's status.allocation

    @property
    def decided(self) -> bool:
        return bool(self.node) or self.unschedulable is not None


def check_pending(claim: str, seen: PendingSeen) -> str:
    """The scheduler could not place the pod and said why, and the claim is unallocated; returns the reason."""
    if seen.node or seen.allocation is not None:
        raise CheckFailed(f"claim {claim} was satisfied: pod {seen.pod} on {seen.node}, allocation {seen.allocation}")
    if seen.unschedulable is None:
        raise CheckFailed(f"pod {seen.pod} is neither scheduled nor found Unschedulable: no decision to judge")
    return seen.unschedulable


def _pending_seen(kube: Clients, namespace: str, claim: str, pod: str) -> PendingSeen:
    p = kube.core.read_namespaced_pod(pod, namespace)
    unschedulable = next(
        (
            c.message or ""
            for c in p.status.conditions or []
            if c.type == "PodScheduled" and c.status == "False" and c.reason == "Unschedulable"
        ),
        None,
    )
    allocation = read_claim(kube, namespace, claim).get("status", {}).get("allocation")
    return PendingSeen(pod, p.spec.node_name or "", unschedulable, allocation)


def check_stays_pending(kube: Clients, namespace: str, claim: str, pod: str, timeout: float = 60) -> str:
    """The scheduler tried, could not place the pod, and said why; the claim stays unallocated.
    Returns the scheduler's reason."""

    def decided() -> tuple[bool, str]:
        seen = _pending_seen(kube, namespace, claim, pod)
        return seen.decided, str(seen) if seen.decided else pod_state(kube, namespace, pod)

    try:
        wait_until(decided, timeout, f"the scheduler's decision on pod {namespace}/{pod}", interval=0.5)
    except WaitTimeout as e:
        raise CheckFailed(str(e)) from None
    return check_pending(claim, _pending_seen(kube, namespace, claim, pod))


def placement_env(kube: Clients, namespace: str, pod: str) -> dict[str, str]:
    """The LLMC_* variables the pod printed at start (claim_pod prints them)."""
    return env_from_log(kube.core.read_namespaced_pod_log(pod, namespace))


def check_sees_devices(profile: DeviceProfile, claim: str, devices: list[Allocated], log: str, rack: str | None) -> str:
    """The container sees the claim's accelerators where the profile says a container sees them
    (claim_pod prints its environment and its /dev entries as DEV=<name>); returns what it saw.
    llmc-env: the LLMC_* variables name exactly the devices, NUMA nodes and rack (check_env_matches);
    dev-nodes: one device node per allocated accelerator, numbered by its index attribute;
    claim-env: the driver's claim_<claim>_<request>=true variable for every request."""
    if profile.container == "llmc-env":
        env = env_from_log(log)
        check_env_matches(devices, env, rack)
        return " ".join(f"{k}={v}" for k, v in sorted(env.items()))
    mine = [d for d in devices if d.driver == profile.accelerator_driver]
    if profile.container == "dev-nodes":
        base = profile.device_nodes.removeprefix("/dev/")
        seen = sorted(line[4:] for line in log.splitlines() if re.fullmatch(rf"DEV={re.escape(base)}\d+", line))
        want = sorted(f"{base}{d.attributes.get(profile.index or '', '?')}" for d in mine)
        if seen != want:
            raise CheckFailed(
                f"the container's device nodes {['/dev/' + s for s in seen]} do not match the allocated "
                f"accelerators {[str(d) for d in mine]}: want {['/dev/' + w for w in want]}"
            )
        return ", ".join("/dev/" + s for s in seen)
    env = dict(line.split("=", 1) for line in log.splitlines() if line.startswith("claim_") and "=" in line)
    want_vars = sorted({re.sub(r"[^a-zA-Z0-9]", "_", f"claim_{claim}_{d.request}") for d in mine})
    missing = [v for v in want_vars if env.get(v) != "true"]
    if not mine or missing:
        raise CheckFailed(
            f"the container's environment lacks {missing or want_vars} for {[str(d) for d in mine]}: {env}"
        )
    return ", ".join(f"{v}=true" for v in want_vars)


def env_from_log(log: str) -> dict[str, str]:
    """The LLMC_NAME=value lines of a log."""
    return dict(line.split("=", 1) for line in log.splitlines() if line.startswith("LLMC_") and "=" in line)


def _pairs(env: dict[str, str], devices: str, numa: str) -> set[tuple[str, str]]:
    names = [n for n in env.get(devices, "").split(",") if n]
    numas = [n for n in env.get(numa, "").split(",") if n]
    if len(names) != len(numas):
        raise CheckFailed(f"{devices} and {numa} differ in length: {env}")
    return set(zip(names, numas, strict=True))


def check_env_matches(devices: list[Allocated], env: dict[str, str], rack: str | None) -> None:
    """The container's LLMC_* environment names exactly the allocated devices, their NUMA nodes and
    the node's rack."""
    want_gpus = {(d.device, str(d.attributes[NUMA])) for d in devices if d.attributes.get(TYPE) == "gpu"}
    want_nics = {(d.device, str(d.attributes[NUMA])) for d in devices if d.attributes.get(TYPE) == "nic"}
    got_gpus = _pairs(env, "LLMC_GPUS", "LLMC_GPU_NUMA")
    got_nics = _pairs(env, "LLMC_NICS", "LLMC_NIC_NUMA")
    if (got_gpus, got_nics, env.get("LLMC_RACK")) != (want_gpus, want_nics, rack):
        raise CheckFailed(
            f"environment {env} does not match the allocation {[str(d) for d in devices]}: "
            f"want GPUs {sorted(want_gpus)}, NICs {sorted(want_nics)}, rack {rack}"
        )
