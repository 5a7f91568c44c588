"""Node failure on a kind testbed: stop a node's container, see the API server notice, mark the node
out-of-service (non-graceful node shutdown, so its pods are force-deleted and can be recreated
elsewhere), and always bring the node back afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Protocol

import docker
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from harness import timeouts
from harness.kube.client import Clients
from harness.kube.conditions import condition
from harness.kube.waits import wait_until

OUT_OF_SERVICE = "node.kubernetes.io/out-of-service"


class HasDocker(Protocol):
    docker: docker.DockerClient


def node_ready(kube: Clients, node: str) -> str:
    """The node's Ready condition status: True, False or Unknown."""
    ready = condition(kube.core.read_node(node), "Ready")
    return ready.status if ready else "Unknown"


def out_of_service(kube: Clients, node: str) -> None:
    """Taint the node out-of-service: the pod GC force-deletes its pods (they cannot terminate there)."""
    taints = [t for t in kube.core.read_node(node).spec.taints or [] if t.key != OUT_OF_SERVICE]
    taints.append(client.V1Taint(key=OUT_OF_SERVICE, value="nodeshutdown", effect="NoExecute"))
    kube.core.patch_node(node, {"spec": {"taints": [t.to_dict() for t in taints]}})


def back_in_service(kube: Clients, node: str) -> None:
    taints = [t.to_dict() for t in kube.core.read_node(node).spec.taints or [] if t.key != OUT_OF_SERVICE]
    kube.core.patch_node(node, {"spec": {"taints": taints or None}})


@dataclass
class StoppedNode:
    testbed: HasDocker
    node: str
    stopped: bool = False

    def stop(self) -> None:
        self.testbed.docker.containers.get(self.node).stop(timeout=0)
        self.stopped = True

    def wait_not_ready(self, kube: Clients, timeout: float) -> float:
        """Seconds until the node controller marks the node not Ready (node-monitor-grace-period)."""

        def gone() -> tuple[bool, str]:
            status = node_ready(kube, self.node)
            return status != "True", f"node {self.node} Ready={status}"

        return wait_until(gone, timeout, f"node {self.node} not Ready after its container stopped", interval=2)


@contextmanager
def stopped_node(testbed: HasDocker, node: str, kube: Clients | None = None) -> Iterator[StoppedNode]:
    """A node the block may stop (`.stop()`); afterwards it is started again, back in service, and
    Ready (bounded), whatever happened in the block."""
    fault = StoppedNode(testbed, node)
    try:
        yield fault
    finally:
        if fault.stopped:
            testbed.docker.containers.get(node).start()
        if kube is not None:
            with suppress(ApiException):
                back_in_service(kube, node)

            def ready() -> tuple[bool, str]:
                status = node_ready(kube, node)
                return status == "True", f"node {node} Ready={status}"

            wait_until(ready, timeouts.NODE_READY, f"node {node} Ready again after restart", interval=2)
