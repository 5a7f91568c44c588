"""Draining a node the way `kubectl drain` does: cordon, then the Eviction API (which honours
PodDisruptionBudgets), with bounded waits.

Only pods of one namespace are evicted: the testbed is shared with the stack's controllers (and,
on a handed-over cluster, with other workloads), which a check must not disturb.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from harness.kube.waits import wait_until


def cordon(core: client.CoreV1Api, node: str, unschedulable: bool = True) -> None:
    core.patch_node(node, {"spec": {"unschedulable": unschedulable}})


@contextmanager
def cordoned(core: client.CoreV1Api, node: str) -> Iterator[str]:
    """The node is unschedulable inside the block, and schedulable again after it, whatever happens."""
    cordon(core, node)
    try:
        yield node
    finally:
        cordon(core, node, unschedulable=False)


def pods_on(core: client.CoreV1Api, namespace: str, node: str, selector: str = "") -> list[client.V1Pod]:
    pods = core.list_namespaced_pod(namespace, label_selector=selector, field_selector=f"spec.nodeName={node}").items
    return [p for p in pods if p.metadata.deletion_timestamp is None]


def evict(core: client.CoreV1Api, namespace: str, pod: str, timeout: float = 120) -> float:
    """Evict one pod, retrying while a PodDisruptionBudget refuses (429) like kubectl drain does;
    returns the seconds the budget held the eviction back."""
    body = client.V1Eviction(metadata=client.V1ObjectMeta(name=pod, namespace=namespace))
    refusal = ""

    def evicted() -> tuple[bool, str]:
        nonlocal refusal
        try:
            core.create_namespaced_pod_eviction(pod, namespace, body)
        except ApiException as e:
            if e.status == 404:
                return True, "already gone"
            if e.status == 429:
                refusal = "a PodDisruptionBudget refuses the eviction"
                return False, refusal
            raise
        return True, "evicted"

    return wait_until(evicted, timeout, f"evict {namespace}/{pod}", interval=1)


def wait_gone(core: client.CoreV1Api, namespace: str, pods: dict[str, str], timeout: float) -> float:
    """Every listed pod (name -> the UID it had when evicted) is deleted: its termination has
    finished. A controller may already have made a new pod under the same name: it does not count."""

    def gone() -> tuple[bool, str]:
        left = []
        for name, uid in pods.items():
            try:
                if core.read_namespaced_pod(name, namespace).metadata.uid == uid:
                    left.append(name)
            except ApiException as e:
                if e.status != 404:
                    raise
        return not left, f"still terminating: {left}"

    return wait_until(gone, timeout, f"{len(pods)} evicted pods terminated", interval=1)


def drain(core: client.CoreV1Api, namespace: str, node: str, timeout: float = 300) -> list[str]:
    """Evict every pod of `namespace` on the (cordoned) node, one request after the other as kubectl
    drain does (each retried while a PodDisruptionBudget refuses), and wait until they have
    terminated; returns their names."""
    pods = {str(p.metadata.name): str(p.metadata.uid) for p in pods_on(core, namespace, node)}
    deadline = time.monotonic() + timeout
    for name in pods:
        evict(core, namespace, name, timeout=max(1.0, deadline - time.monotonic()))
    wait_gone(core, namespace, pods, timeout=max(1.0, deadline - time.monotonic()))
    return list(pods)
