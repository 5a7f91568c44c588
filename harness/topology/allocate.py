"""Allocating a claim layout on the cluster: one holder pod per claim, pinned to its node, round by
round (each round allocated before the next starts, since first fit depends on the earlier ones)."""

from __future__ import annotations

from kubernetes import utils

from harness.dra.claims import claim_pod
from harness.kube.client import Clients
from harness.topology.allocations import wait_allocated
from harness.topology.claims import Rounds


def allocate(kube: Clients, namespace: str, rounds: Rounds, timeout: float = 90) -> int:
    """Create every claim and its holder pod; returns how many were allocated (all, or CheckFailed)."""
    count = 0
    for placed in rounds:
        for p in placed:
            utils.create_from_dict(kube.api, p.claim.obj(), namespace=namespace)
            kube.core.create_namespaced_pod(namespace, claim_pod(f"{p.claim.name}-pod", p.claim.name, p.node))
        for p in placed:
            wait_allocated(kube, namespace, p.claim.name, f"{p.claim.name}-pod", timeout)
            count += 1
    return count
