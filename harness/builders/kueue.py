"""Kueue's objects: ResourceFlavors, ClusterQueues, LocalQueues, Topologies and WorkloadPriorityClasses.

ClusterQueue("gpus").flavor("llmc-flavor").quota(gpus=8).preempt_lower_priority().obj()
LocalQueue("queue", "gpus").obj()
ResourceFlavor("zone-a").node_labels({ZONE_LABEL: "zone-a"}).topology("rack-topology").obj()
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from harness.kube.labels import HOSTNAME_LABEL, KUEUE_API
from harness.kube.objects import Object
from harness.spec import RACK_LABEL, ZONE_LABEL
from harness.stack.kueue import GPU_RESOURCE

# Quota large enough that only the resources a check is about decide admission.
ROOMY = {"cpu": "64", "memory": "256Gi"}


def _kueue(kind: str, name: str, **fields: object) -> Object:
    return {"apiVersion": KUEUE_API, "kind": kind, "metadata": {"name": name}, **fields}


@dataclass
class ResourceFlavor:
    name: str
    spec: Object = field(default_factory=dict)

    def node_labels(self, labels: dict[str, str]) -> ResourceFlavor:
        """Only nodes with these labels are of this flavor."""
        self.spec["nodeLabels"] = dict(labels)
        return self

    def topology(self, topology: str) -> ResourceFlavor:
        """Its nodes are placed by Kueue's topology-aware scheduling on `topology`'s levels."""
        self.spec["topologyName"] = topology
        return self

    def obj(self) -> Object:
        return _kueue("ResourceFlavor", self.name, spec=copy.deepcopy(self.spec))


@dataclass
class ClusterQueue:
    """A ClusterQueue admitting from every namespace, with nominal quotas on one flavor."""

    name: str
    flavor_name: str = ""
    quotas: dict[str, str] = field(default_factory=dict)  # resource -> nominal quota
    preemption: Object = field(default_factory=dict)

    def flavor(self, name: str) -> ClusterQueue:
        self.flavor_name = name
        return self

    def quota(
        self,
        cpu: str | None = None,
        memory: str | None = None,
        gpus: int | None = None,
        gpu_resource: str = GPU_RESOURCE,
    ) -> ClusterQueue:
        """Nominal quotas; GPUs count the devices DRA claims ask for, as `gpu_resource`: the resource
        the running Kueue maps the GPU DeviceClass to (ours: harness.stack.kueue.GPU_RESOURCE)."""
        for resource, value in (("cpu", cpu), ("memory", memory), (gpu_resource, gpus)):
            if value is not None:
                self.quotas[resource] = str(value)
        return self

    def preempt_lower_priority(self) -> ClusterQueue:
        """A workload may evict lower-priority ones of the same queue to fit."""
        self.preemption = {"withinClusterQueue": "LowerPriority"}
        return self

    def obj(self) -> Object:
        resources = [{"name": r, "nominalQuota": q} for r, q in self.quotas.items()]
        spec: Object = {
            "namespaceSelector": {},
            "resourceGroups": [
                {"coveredResources": list(self.quotas), "flavors": [{"name": self.flavor_name, "resources": resources}]}
            ],
        }
        if self.preemption:
            spec["preemption"] = dict(self.preemption)
        return _kueue("ClusterQueue", self.name, spec=spec)


@dataclass
class LocalQueue:
    name: str
    cluster_queue: str

    def obj(self) -> Object:
        return _kueue("LocalQueue", self.name, spec={"clusterQueue": self.cluster_queue})


@dataclass
class Topology:
    """Zone → rack → node by default: the levels Kueue's topology-aware scheduling places pods on."""

    name: str
    levels: tuple[str, ...] = (ZONE_LABEL, RACK_LABEL, HOSTNAME_LABEL)

    def obj(self) -> Object:
        return _kueue("Topology", self.name, spec={"levels": [{"nodeLabel": label} for label in self.levels]})


@dataclass
class WorkloadPriorityClass:
    name: str
    value: int

    def obj(self) -> Object:
        return _kueue("WorkloadPriorityClass", self.name, value=self.value)
