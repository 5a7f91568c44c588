"""What the scheduler allocated for a ResourceClaim: its devices, each with the attributes its driver's
ResourceSlices publish for it. Read by the DRA and topology checks and by the placement map."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, cast

from fake_gpu import DRIVER
from kubernetes import client

from harness.dra.drivers import published_devices
from harness.kube.client import Clients
from harness.kube.waits import WaitTimeout, wait_until
from harness.verdicts import CheckFailed


@dataclass(frozen=True)
class Allocated:
    request: str
    node: str  # the pool: one per node
    device: str
    attributes: dict[str, Any]  # attribute name (qualified as in the slice) -> value
    driver: str = DRIVER

    def __str__(self) -> str:
        return f"{self.node}/{self.device}"


def read_claim(kube: Clients, namespace: str, name: str) -> dict[str, Any]:
    api = client.CustomObjectsApi(kube.api)
    return cast(
        dict[str, Any], api.get_namespaced_custom_object("resource.k8s.io", "v1", namespace, "resourceclaims", name)
    )


def pod_state(kube: Clients, namespace: str, pod: str) -> str:
    p = kube.core.read_namespaced_pod(pod, namespace)
    conditions = [f"{c.type}={c.status} {c.reason or ''} {c.message or ''}".strip() for c in p.status.conditions or []]
    return f"pod {pod} {p.status.phase} on {p.spec.node_name or '-'}: {'; '.join(conditions) or 'no conditions'}"


def wait_allocated(
    kube: Clients, namespace: str, claim: str, pod: str, timeout: float = 60
) -> tuple[list[Allocated], float]:
    """The claim's allocated devices with their published attributes, and seconds until allocated."""
    started = time.monotonic()

    def allocated() -> tuple[bool, str]:
        status = read_claim(kube, namespace, claim).get("status", {})
        if "allocation" in status:
            return True, "allocated"
        return False, f"claim {claim} not allocated; {pod_state(kube, namespace, pod)}"

    try:
        wait_until(allocated, timeout, f"ResourceClaim {namespace}/{claim} allocated", interval=0.5)
    except WaitTimeout as e:
        raise CheckFailed(str(e)) from None
    seconds = time.monotonic() - started
    allocation = read_claim(kube, namespace, claim)["status"]["allocation"]
    return allocated_devices(allocation, published_devices(kube)), seconds


def allocated_devices(allocation: dict[str, Any], pools: dict[tuple[str, str], dict[str, Any]]) -> list[Allocated]:
    """A claim's status.allocation as devices, each with the attributes its slice publishes (`pools`:
    harness.dra.drivers.published_devices, by driver and pool)."""
    devices = []
    for r in allocation["devices"]["results"]:
        raw = pools[(r["driver"], r["pool"])][r["device"]].get("attributes") or {}
        attributes = {_qualified(r["driver"], k): next(iter(v.values())) for k, v in raw.items()}
        devices.append(Allocated(r["request"], r["pool"], r["device"], attributes, r["driver"]))
    return devices


def _qualified(driver: str, attribute: str) -> str:
    return attribute if "/" in attribute else f"{driver}/{attribute}"
