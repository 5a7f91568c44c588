"""Kueue: the upstream controller with the LeaderWorkerSet integration on, its internal certificate
management, and the two settings the gang suites vary (waitForPodsReady, topology-aware scheduling).

The settings are applied the way a user does: in the manager's Configuration (ConfigMap
`kueue-manager-config`) and its `--feature-gates`, identically in both image modes. A digest of them
on the pod template makes a changed setting roll the controller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial

import yaml

from harness import versions
from harness.kube.labels import KUEUE_API
from harness.kube.objects import Object
from harness.stack.component import Component
from harness.stack.images import module_tree
from harness.stack.render import ImagePin, KustomizeSource, fetch, render
from harness.supply import Mode
from harness.supply.cache import digest

NAMESPACE = "kueue-system"
CONFIG_MAP = "kueue-manager-config"
CONFIG_KEY = "controller_manager_config.yaml"
LWS_FRAMEWORK = "leaderworkerset.x-k8s.io/leaderworkerset"
DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$")
CONFIG_ANNOTATION = "llm-conformance.io/kueue-config"
# The quota name DRA GPU requests count against (KueueDRAIntegration, beta and on in v0.19): a
# ClusterQueue with a nominalQuota on it admits groups by the fake GPUs their claims ask for.
GPU_RESOURCE = "llm-conformance.io/gpu"
GPU_DEVICE_CLASS = "gpu.llm-conformance.io"  # fake_gpu.slices.GPU_CLASS


@dataclass(frozen=True)
class KueueOptions:
    # Evict and requeue a workload whose pods are not all Ready within this duration (e.g. "2m").
    wait_for_pods_ready: str | None = None
    topology_aware_scheduling: bool = True
    gpu_device_class: str = GPU_DEVICE_CLASS  # the class whose devices GPU_RESOURCE counts

    def __post_init__(self) -> None:
        if self.wait_for_pods_ready is not None and not DURATION.match(self.wait_for_pods_ready):
            raise ValueError(
                f"kueue.waitForPodsReady: {self.wait_for_pods_ready!r} is not a duration such as '90s' or '5m'"
            )


def component(options: KueueOptions | None = None) -> Component:
    v = versions.pinned()["kueue"]
    options = options or KueueOptions()
    return Component(
        name="kueue",
        version=f"{v['version']}+{digest(options.__dict__)[:8]}",
        namespace=NAMESPACE,
        manifests_url=v["manifests"],
        objects=partial(objects, options=options),
        images=(v["image"],),
        webhook_probe=_probe(),
        after=("lws",),  # the LWS integration starts only if LWS's CRD exists
    )


def objects(mode: Mode, options: KueueOptions) -> list[Object]:
    return configure(release_objects(mode), options)


def release_objects(mode: Mode) -> list[Object]:
    """Kueue's release manifest as published (registry mode), or rendered from the module as its
    `make prepare-manifests` does (the controller image set in config/components/manager)."""
    v = versions.pinned()["kueue"]
    if mode is Mode.REGISTRY:
        return fetch(v["manifests"])
    return render(
        KustomizeSource(
            module_tree("kueue"),
            v["kustomize"],
            (ImagePin("config/components/manager", "controller", v["image"]),),
        )
    )


def configure(objs: list[Object], options: KueueOptions) -> list[Object]:
    """Set the integrations, waitForPodsReady and the TAS gate in the rendered objects."""
    config_map = _find(objs, "ConfigMap", CONFIG_MAP)
    config = yaml.safe_load(config_map["data"][CONFIG_KEY])
    frameworks = config.setdefault("integrations", {}).setdefault("frameworks", [])
    if LWS_FRAMEWORK not in frameworks:
        frameworks.append(LWS_FRAMEWORK)
    if options.wait_for_pods_ready:
        config["waitForPodsReady"] = {"timeout": options.wait_for_pods_ready, "blockAdmission": True}
    else:
        config.pop("waitForPodsReady", None)
    mappings = [{"name": GPU_RESOURCE, "deviceClassNames": [options.gpu_device_class]}]
    config.setdefault("resources", {})["deviceClassMappings"] = mappings
    config_map["data"][CONFIG_KEY] = yaml.safe_dump(config, sort_keys=False)

    deployment = _find(objs, "Deployment", "kueue-controller-manager")
    template = deployment["spec"]["template"]
    manager = next(c for c in template["spec"]["containers"] if c["name"] == "manager")
    args = [a for a in manager.get("args", []) if not a.startswith("--feature-gates=")]
    if not options.topology_aware_scheduling:
        args.append("--feature-gates=TopologyAwareScheduling=false")
    manager["args"] = args
    template["metadata"].setdefault("annotations", {})[CONFIG_ANNOTATION] = digest(
        [config_map["data"][CONFIG_KEY], args]
    )
    return objs


def _find(objs: list[Object], kind: str, name: str) -> Object:
    for obj in objs:
        if obj["kind"] == kind and obj["metadata"]["name"] == name:
            return obj
    raise LookupError(f"Kueue's manifests have no {kind} {name}: the pinned release changed its layout")


def _probe() -> Object:
    return {"apiVersion": KUEUE_API, "kind": "ResourceFlavor", "metadata": {"name": "llmc-webhook-probe"}, "spec": {}}
