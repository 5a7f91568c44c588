"""Scalar mode of the fake GPU driver on a testbed: GPUs and NICs as counted extended resources,
for negative controls (what counting-only scheduling does to alignment)."""

from __future__ import annotations

from fake_gpu.scalar import GPU_RESOURCE, NIC_RESOURCE

from harness.dra.install import NAMESPACE, Target, build_fake_gpu, node_inventories, scalar_objects
from harness.kube.waits import WaitTimeout, wait_until
from harness.stack.component import diagnostics
from harness.stack.install import apply

__all__ = ["GPU_RESOURCE", "NIC_RESOURCE", "install_scalar"]


def install_scalar(target: Target, timeout: float = 120) -> float:
    """Install and wait until every worker's allocatable shows its GPU and NIC counts; returns seconds."""
    image = build_fake_gpu(target.supply.mode)
    target.load_images([image])
    apply(scalar_objects(target.spec, image), target.kubeconfig)
    kube = target.clients()
    want = {
        inv.node: {GPU_RESOURCE: str(len(inv.gpus)), NIC_RESOURCE: str(len(inv.nics))}
        for inv in node_inventories(target.spec)
    }

    def advertised() -> tuple[bool, str]:
        seen = {}
        for node, counts in want.items():
            allocatable = kube.core.read_node(node).status.allocatable or {}
            seen[node] = {r: allocatable.get(r) for r in counts}
        return seen == want, f"allocatable {seen}, want {want}"

    try:
        return wait_until(advertised, timeout, "scalar GPU/NIC counts on every worker", interval=1)
    except WaitTimeout as e:
        raise WaitTimeout(f"{e}\n{diagnostics(kube, NAMESPACE)}") from None
