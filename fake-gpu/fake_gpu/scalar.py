"""Scalar mode, for negative controls: the node's GPUs and NICs as extended resources (counts in the
node's status, as a device plugin would advertise them). The scheduler can only count them: nothing
says which GPU or NIC a pod gets, nor where they sit, so alignment is left to luck."""

from __future__ import annotations

import logging
import signal
import threading

from fake_gpu.apiserver import APIServer
from fake_gpu.inventory import NodeInventory

log = logging.getLogger("fake_gpu.scalar")
GPU_RESOURCE = "llm-conformance.io/gpu"
NIC_RESOURCE = "llm-conformance.io/nic"


def extended_resources(inv: NodeInventory) -> dict[str, str]:
    return {GPU_RESOURCE: str(len(inv.gpus)), NIC_RESOURCE: str(len(inv.nics))}


def advertise(api: APIServer, inv: NodeInventory) -> None:
    # The kubelet copies capacity to allocatable for extended resources it does not manage itself.
    patch = {"status": {"capacity": extended_resources(inv)}}
    api.request("PATCH", f"/api/v1/nodes/{inv.node}/status", patch, "application/merge-patch+json")


def run(api: APIServer, inv: NodeInventory, interval: float) -> None:
    """Advertise, and re-advertise periodically (a re-registered node loses them)."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.is_set():
        try:
            advertise(api, inv)
            log.info("advertised %s on %s", extended_resources(inv), inv.node)
        except Exception as e:  # the API server may be briefly away: retry
            log.warning("advertising on %s failed: %s", inv.node, e)
        stop.wait(interval)
