"""Kueue objects for groups that consume fake GPUs through DRA: a ClusterQueue whose quota is GPUs
(Kueue counts the claims' devices against it, see harness.stack.kueue.GPU_RESOURCE), its LocalQueue,
WorkloadPriorityClasses, and the labels that put a LeaderWorkerSet in a queue."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient

from harness.kube.client import Clients
from harness.stack import kueue
from harness.stack.builders import QUEUE_LABEL, local_queue, resource_flavor

Object = dict[str, Any]
PRIORITY_LABEL = "kueue.x-k8s.io/priority-class"

__all__ = [
    "PRIORITY_LABEL",
    "QUEUE_LABEL",
    "cluster_objects",
    "create",
    "gpu_cluster_queue",
    "local_queue",
    "queued",
    "resource_flavor",
    "workload_priority_class",
]


def gpu_cluster_queue(name: str, flavor: str, gpus: int, preempt_lower_priority: bool = False) -> Object:
    """A ClusterQueue for every namespace with a nominal quota of `gpus` fake GPUs (and CPU/memory
    enough that only GPUs decide). With `preempt_lower_priority` a workload may evict lower-priority
    ones of the same queue to fit."""
    covered = ["cpu", "memory", kueue.GPU_RESOURCE]
    quotas = [
        {"name": "cpu", "nominalQuota": "64"},
        {"name": "memory", "nominalQuota": "256Gi"},
        {"name": kueue.GPU_RESOURCE, "nominalQuota": str(gpus)},
    ]
    spec: Object = {
        "namespaceSelector": {},
        "resourceGroups": [{"coveredResources": covered, "flavors": [{"name": flavor, "resources": quotas}]}],
    }
    if preempt_lower_priority:
        spec["preemption"] = {"withinClusterQueue": "LowerPriority"}
    return {"apiVersion": kueue.API, "kind": "ClusterQueue", "metadata": {"name": name}, "spec": spec}


def workload_priority_class(name: str, value: int) -> Object:
    return {"apiVersion": kueue.API, "kind": "WorkloadPriorityClass", "metadata": {"name": name}, "value": value}


def queued(lws: Object, queue: str, priority_class: str | None = None) -> Object:
    """The LeaderWorkerSet submitted to a LocalQueue: Kueue makes one Workload per group and gates its
    pods until the whole group is admitted."""
    out = copy.deepcopy(lws)
    labels = out["metadata"].setdefault("labels", {})
    labels[QUEUE_LABEL] = queue
    if priority_class:
        labels[PRIORITY_LABEL] = priority_class
    return out


def create(kube: Clients, obj: Object, namespace: str | None = None) -> None:
    """Create any object (built-in or custom) from its dict."""
    resource = DynamicClient(kube.api).resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
    resource.create(body=obj, namespace=namespace if resource.namespaced else None)


@contextmanager
def cluster_objects(kube: Clients, objs: list[Object]) -> Iterator[None]:
    """Cluster-scoped objects (flavors, ClusterQueues, priority classes) that exist for a block only."""
    made: list[Object] = []
    try:
        for obj in objs:
            create(kube, obj)
            made.append(obj)
        yield
    finally:
        for obj in reversed(made):
            resource = DynamicClient(kube.api).resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
            try:
                resource.delete(name=obj["metadata"]["name"])
            except ApiException as e:
                if e.status != 404:
                    raise
