"""Scalar mode (extended resources, counting only), the negative control of DRA placement: the
scheduler counts GPUs and NICs and refuses a pod asking for more than a node has, but a pod that
fits gets no devices, no topology and no placement environment."""

from __future__ import annotations

import pytest

from harness import timeouts
from harness.checks.dra import placement_env
from harness.cluster.testbed import TestbedCluster
from harness.dra.claims import claim_pod
from harness.dra.scalar import GPU_RESOURCE, NIC_RESOURCE, install_scalar
from harness.kube.client import Clients
from harness.kube.namespaces import scratch_namespace
from harness.kube.objects import create
from harness.kube.pods import wait_ready
from harness.kube.waits import wait_until

pytestmark = pytest.mark.dra


def counting_pod(name: str, node: str, gpus: int, nics: int) -> dict[str, object]:
    pod = claim_pod(name, "unused", node)
    del pod["spec"]["resourceClaims"]
    resources = pod["spec"]["containers"][0]["resources"]
    resources.pop("claims")
    resources["limits"] = {GPU_RESOURCE: str(gpus), NIC_RESOURCE: str(nics)}
    return pod


def test_counting_only_gives_nothing_to_align(kube: Clients, testbed: TestbedCluster) -> None:
    install_scalar(testbed)
    node = testbed.spec.workers[0]
    assert node.hardware is not None
    with scratch_namespace(kube.core, "scalar") as ns:
        create(kube, counting_pod("fits", node.name, 1, 1), ns)
        wait_ready(kube.core, ns, ["fits"], timeout=timeouts.POD_READY)
        create(kube, counting_pod("too-many", node.name, node.hardware.gpu_count + 1, 0), ns)

        def refused() -> tuple[bool, str]:
            conditions = kube.core.read_namespaced_pod("too-many", ns).status.conditions or []
            message = next((c.message or "" for c in conditions if c.reason == "Unschedulable"), "")
            return f"Insufficient {GPU_RESOURCE}" in message, message or "no scheduler verdict yet"

        wait_until(refused, timeouts.REACTION, "the scheduler counting GPUs")
        # Counting only: no device is allocated, so nothing tells the pod which GPU/NIC it has or
        # where they sit (the mock vLLM reports unknown placement); no alignment can be checked.
        assert placement_env(kube, ns, "fits") == {}
