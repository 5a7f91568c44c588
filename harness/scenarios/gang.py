"""The gang checks' set-ups (suites/test_gang.py), shared with their negative controls
(tests/cluster/test_gang_negative.py): groups whose every member claims all GPUs of one node (of the
device profile's class: the fake driver's, or whatever the cluster's driver publishes),
submitted to Kueue's GPU quota or (`queued=False`) left to the scheduler.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import yaml

from harness import timeouts
from harness.builders.kueue import ROOMY, ClusterQueue, LocalQueue, ResourceFlavor, WorkloadPriorityClass
from harness.builders.lws import LeaderWorkerSet
from harness.checks.gang import Binding, Pods, group_pods, native_pods, watch_binding, watch_until_whole, workload_of
from harness.cluster.existing import ExistingCluster
from harness.cluster.testbed import TestbedCluster
from harness.dra.profile import DeviceProfile
from harness.kube.client import Clients
from harness.kube.namespaces import scratch_namespace
from harness.kube.objects import cluster_objects, create
from harness.serving.gpu_groups import GpuLayout, gpu_group, native_gang
from harness.serving.images import build_mock_vllm
from harness.stack import KueueOptions, install_stack, kueue
from harness.stack.existing import ensure_stack
from harness.verdicts import NotApplicable

QUEUE = "gpus"  # the LocalQueue in every scratch namespace
# A window that proves a negative (no group bound in part): every group is watched this long once all
# its pods exist. Kueue decides on a Workload, and the scheduler tries an ungated pod, within a
# second or two of its creation, and both retry on every change in the cluster; a gang that leaks
# binds its first pods in those first seconds. 20 s is ten times that on a busy testbed, and twice
# HOLD, the time a group may take to be bound whole.
OBSERVE = 20
HOLD = 10  # a group partially bound this long is partial placement, not a group being bound
WHOLE = timeouts.GROUP_WHOLE  # a group that should run is whole on nodes


@dataclass(frozen=True)
class Quota:
    """Kueue's objects for the GPUs (named from `prefix`: a module's objects may still be finalizing
    when the next module creates its own) and the testbed's GPU layout."""

    prefix: str
    layout: GpuLayout
    devices: DeviceProfile

    @property
    def cluster_queue(self) -> str:
        return f"{self.prefix}-gpus"

    @property
    def low(self) -> str:
        return f"{self.prefix}-low"

    @property
    def high(self) -> str:
        return f"{self.prefix}-high"


def _kueue(testbed: TestbedCluster | ExistingCluster, options: KueueOptions) -> None:
    if isinstance(testbed, ExistingCluster):
        ensure_stack(testbed, allow_install=True, kueue_options=options)  # the owners' own Kueue: left as is
    else:
        install_stack(testbed, options)


def _kueue_configs(kube: Clients) -> list[dict[str, Any]]:
    """The running Kueue's Configuration (its ConfigMap, wherever it runs)."""
    config_maps = kube.core.list_config_map_for_all_namespaces(field_selector=f"metadata.name={kueue.CONFIG_MAP}")
    return [yaml.safe_load((cm.data or {}).get(kueue.CONFIG_KEY) or "{}") or {} for cm in config_maps.items]


def quota_resource(kube: Clients, device_class: str) -> str:
    """The quota resource the running Kueue counts `device_class`'s devices as (its Configuration's
    resources.deviceClassMappings): ours on a testbed, the owners' own choice on their Kueue."""
    for config in _kueue_configs(kube):
        for mapping in (config.get("resources") or {}).get("deviceClassMappings") or []:
            if device_class in (mapping.get("deviceClassNames") or []):
                return str(mapping["name"])
    raise NotApplicable(
        f"Kueue's Configuration ({kueue.CONFIG_MAP}) maps no quota resource to DeviceClass {device_class} "
        "(resources.deviceClassMappings): it cannot count a group's GPUs"
    )


def require_wait_for_pods_ready(kube: Clients) -> None:
    """The running Kueue evicts groups not Ready in time (an owner's Kueue may not: not applicable)."""
    if not any(config.get("waitForPodsReady") for config in _kueue_configs(kube)):
        raise NotApplicable(f"Kueue's Configuration ({kueue.CONFIG_MAP}) has no waitForPodsReady: nothing evicts")


def wait_for_pods_ready(testbed: TestbedCluster) -> str:
    """The suite's Kueue waitForPodsReady: a group not Ready within it is evicted and requeued (the
    testbed's timing, so the report says it)."""
    return f"{testbed.spec.timing.kueue_wait_for_pods_ready}s"


@contextmanager
def gpu_quota(
    testbed: TestbedCluster | ExistingCluster,
    kube: Clients,
    prefix: str,
    wait_for_pods_ready: str | None,
    devices: DeviceProfile,
) -> Iterator[Quota]:
    """Mock vLLM, Kueue (with waitForPodsReady, blockAdmission, if given) counting the devices of the
    profile's GPU class, a ClusterQueue whose quota is every GPU and that lets a higher priority
    preempt, and two priority classes. Restores the default Kueue options at the end (the other
    suites expect them). The `devices` fixture has installed the driver."""
    testbed.load_images([build_mock_vllm(testbed.supply.mode)])
    _kueue(testbed, KueueOptions(wait_for_pods_ready=wait_for_pods_ready, gpu_device_class=devices.gpu_class()))
    quota = Quota(prefix, GpuLayout.of(testbed.spec), devices)
    flavor = f"{prefix}-flavor"
    try:
        resource = quota_resource(kube, devices.gpu_class())
        objects = [
            ResourceFlavor(flavor).obj(),
            ClusterQueue(quota.cluster_queue)
            .flavor(flavor)
            .quota(**ROOMY, gpus=quota.layout.total, gpu_resource=resource)
            .preempt_lower_priority()
            .obj(),
            WorkloadPriorityClass(quota.low, 100).obj(),
            WorkloadPriorityClass(quota.high, 1000).obj(),
        ]
        with cluster_objects(kube, objects):
            yield quota
    finally:
        _kueue(testbed, KueueOptions())


@contextmanager
def gang_namespace(kube: Clients, quota: Quota, prefix: str) -> Iterator[str]:
    """A namespace per check, so that each starts with every GPU free: the members' claim template
    and the LocalQueue QUEUE."""
    with scratch_namespace(kube.core, prefix) as ns:
        create(kube, quota.layout.claim_template(quota.devices), ns)
        create(kube, LocalQueue(QUEUE, quota.cluster_queue).obj(), ns)
        yield ns


def _submit(kube: Clients, namespace: str, name: str, size: int, queued: bool, priority: str | None = None) -> None:
    lws = gpu_group(name, size)
    create(kube, LeaderWorkerSet(lws).queue(QUEUE, priority).obj() if queued else lws, namespace)


def group_that_does_not_fit(kube: Clients, namespace: str, quota: Quota, queued: bool = True) -> Binding:
    """One group of (GPU nodes + 1) members ("big"), watched OBSERVE s once all its pods exist."""
    size = quota.layout.nodes + 1
    _submit(kube, namespace, "big", size, queued)
    return watch_binding(partial(group_pods, kube, namespace, ["big"]), ["big-0"], size, OBSERVE)


@dataclass(frozen=True)
class Competition:
    pods: Pods
    groups: list[str]  # "first-0", "second-0"
    binding: Binding
    submitted: float  # epoch seconds, before the first LWS was created


def competing_groups(kube: Clients, namespace: str, quota: Quota, queued: bool = True) -> Competition:
    """Two groups of ⌊GPU nodes / 2⌋ + 1 members ("first", "second"): one fits, both do not;
    watched OBSERVE s once all their pods exist."""
    size = quota.layout.nodes // 2 + 1
    lwss = ["first", "second"]
    submitted = time.time()
    for name in lwss:
        _submit(kube, namespace, name, size, queued)
    pods = partial(group_pods, kube, namespace, lwss)
    groups = [f"{name}-0" for name in lwss]
    return Competition(pods, groups, watch_binding(pods, groups, size, OBSERVE), submitted)


def stuck_group(kube: Clients, namespace: str) -> str:
    """A queued group of 2 whose readiness never passes (an engine that never finishes loading);
    returns its Kueue Workload's name."""
    create(kube, LeaderWorkerSet(gpu_group("stuck", 2, readiness_path="/never-ready")).queue(QUEUE).obj(), namespace)
    return workload_of(kube, namespace, "stuck", "stuck-0")


@dataclass(frozen=True)
class Preemption:
    pods: Pods
    binding: Binding  # sampled until "low-0" was whole
    low_uids: set[str]  # the low group's pods while it ran whole
    submitted: float  # epoch seconds, before the high group was created


def preempting_groups(kube: Clients, namespace: str, quota: Quota, high_priority: str) -> Preemption:
    """A group taking every GPU node at priority `quota.low`, whole on nodes, then a second group of
    the same size ("high") at `high_priority`."""
    size = quota.layout.nodes
    pods = partial(group_pods, kube, namespace, ["low", "high"])
    binding = Binding(size)
    _submit(kube, namespace, "low", size, True, quota.low)
    watch_until_whole(pods, ["low-0"], "low-0", binding, timeout=WHOLE)
    low_uids = {p.metadata.uid for p in pods()["low-0"]}
    submitted = time.time()
    _submit(kube, namespace, "high", size, True, high_priority)
    return Preemption(pods, binding, low_uids, submitted)


def native_group(kube: Clients, namespace: str, quota: Quota, pod_group_api: str | None) -> Binding:
    """(GPU nodes + 1) plain pods ("native"), made one gang by a PodGroup of `pod_group_api`
    (scheduling.k8s.io/<version>) or, with None, scheduled one by one; watched OBSERVE s."""
    size = quota.layout.nodes + 1
    for obj in native_gang("native", size, pod_group_api):
        create(kube, obj, namespace)
    return watch_binding(partial(native_pods, kube, namespace, "native"), ["native"], size, OBSERVE)
