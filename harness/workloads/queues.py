"""Kueue objects for groups that consume fake GPUs through DRA: a ClusterQueue whose quota is GPUs
(Kueue counts the claims' devices against it, see harness.stack.kueue.GPU_RESOURCE), its LocalQueue,
WorkloadPriorityClasses, and the labels that put a LeaderWorkerSet in a queue."""

from __future__ import annotations

import copy
from typing import Any

from harness.kube.dynamic import cluster_objects, create
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


def gpu_cluster_queue(
    name: str, flavor: str, gpus: int, preempt_lower_priority: bool = False, resource: str = kueue.GPU_RESOURCE
) -> Object:
    """A ClusterQueue for every namespace with a nominal quota of `gpus` GPUs, counted as `resource`
    (and CPU/memory enough that only GPUs decide). With `preempt_lower_priority` a workload may evict
    lower-priority ones of the same queue to fit."""
    covered = ["cpu", "memory", resource]
    quotas = [
        {"name": "cpu", "nominalQuota": "64"},
        {"name": "memory", "nominalQuota": "256Gi"},
        {"name": resource, "nominalQuota": str(gpus)},
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
