"""A capacity buffer: low-priority placeholder pods that hold the free CPU of the worker nodes, so
a scale-up must preempt them (where a node autoscaler would then add nodes for the placeholders,
ahead of the next scale-up).

The placeholders run at a negative priority and never preempt anything themselves.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from kubernetes.client.exceptions import ApiException

from harness import timeouts
from harness.kube.client import Clients
from harness.kube.labels import HOSTNAME_LABEL
from harness.kube.objects import busybox_image, cluster_objects, create
from harness.kube.pods import wait_ready

PLACEHOLDER_LABEL = "llm-conformance.io/placeholder"
PRIORITY = -10


@contextmanager
def placeholder_class(kube: Clients, value: int = PRIORITY) -> Iterator[str]:
    """A PriorityClass below every workload's (0 by default) unless `value` says otherwise, removed afterwards."""
    name = f"llmc-placeholder-{secrets.token_hex(3)}"
    priority_class = {
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": {"name": name},
        "value": value,
        "preemptionPolicy": "Never",
        "globalDefault": False,
        "description": "llm-conformance capacity buffer placeholders",
    }
    with cluster_objects(kube, [priority_class]):
        yield name


def _millis(quantity: str) -> int:
    return int(quantity[:-1]) if quantity.endswith("m") else int(float(quantity) * 1000)


def free_cpu_millis(kube: Clients, node: str) -> int:
    """Allocatable CPU minus the requests of the pods bound to the node and not finished."""
    allocatable = _millis((kube.core.read_node(node).status.allocatable or {})["cpu"])
    pods = kube.core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}").items
    requested = sum(
        _millis((c.resources.requests or {}).get("cpu", "0"))
        for p in pods
        if str(p.status.phase) not in ("Succeeded", "Failed")
        for c in p.spec.containers
        if c.resources is not None
    )
    return allocatable - requested


def fill(kube: Clients, namespace: str, nodes: list[str], priority_class: str, leave_millis: int) -> list[str]:
    """One placeholder per node holding all its free CPU but `leave_millis`; returns their names
    once they all run."""
    names = []
    for node in nodes:
        cpu = free_cpu_millis(kube, node) - leave_millis
        if cpu <= 0:
            continue
        name = f"placeholder-{node}"
        create(
            kube,
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": name, "labels": {PLACEHOLDER_LABEL: "true"}},
                "spec": {
                    "priorityClassName": priority_class,
                    "terminationGracePeriodSeconds": 0,
                    "nodeSelector": {HOSTNAME_LABEL: node},
                    "containers": [
                        {
                            "name": "hold",
                            "image": busybox_image(),
                            "command": ["sleep", "3600"],
                            "resources": {"requests": {"cpu": f"{cpu}m", "memory": "8Mi"}},
                        }
                    ],
                },
            },
            namespace,
        )
        names.append(name)
    wait_ready(kube.core, namespace, names, timeout=timeouts.POD_READY)
    return names


def preempted(kube: Clients, namespace: str, names: list[str]) -> list[str]:
    """Placeholders the scheduler preempted: gone, or marked with DisruptionTarget (PreemptionByScheduler)."""
    out = []
    for name in names:
        try:
            pod = kube.core.read_namespaced_pod(name, namespace)
        except ApiException as e:
            if e.status == 404:
                out.append(name)
                continue
            raise
        reasons = {c.reason for c in pod.status.conditions or [] if c.type == "DisruptionTarget"}
        if "PreemptionByScheduler" in reasons or pod.metadata.deletion_timestamp is not None:
            out.append(name)
    return out


def scheduling_reasons(kube: Clients, namespace: str, selector: str) -> list[str]:
    """The PodScheduled condition reasons of the selected pods (Unschedulable: the scheduler gave up)."""
    pods = kube.core.list_namespaced_pod(namespace, label_selector=selector).items
    return [str(c.reason) for p in pods for c in p.status.conditions or [] if c.type == "PodScheduled"]
