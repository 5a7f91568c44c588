"""The objects the topology suites place: a Kueue Topology and its flavor, and the placement knobs on
a mock vLLM LeaderWorkerSet (rack affinity, Kueue's topology request, pinning)."""

from __future__ import annotations

import copy

from harness.kube.labels import (
    HOSTNAME_LABEL,
    KUEUE_API,
    KUEUE_QUEUE_LABEL,
    KUEUE_REQUIRED_TOPOLOGY,
    LWS_GROUP_KEY_LABEL,
)
from harness.kube.objects import Object
from harness.spec import RACK_LABEL, ZONE_LABEL

LEVELS = (ZONE_LABEL, RACK_LABEL, HOSTNAME_LABEL)


def topology(name: str) -> Object:
    """Zone → rack → node: the levels Kueue's topology-aware scheduling places pods on."""
    return {
        "apiVersion": KUEUE_API,
        "kind": "Topology",
        "metadata": {"name": name},
        "spec": {"levels": [{"nodeLabel": label} for label in LEVELS]},
    }


def topology_flavor(name: str, topology_name: str, zone: str) -> Object:
    """A ResourceFlavor over the zone's nodes (the control plane has no zone label) with a topology."""
    return {
        "apiVersion": KUEUE_API,
        "kind": "ResourceFlavor",
        "metadata": {"name": name},
        "spec": {"nodeLabels": {ZONE_LABEL: zone}, "topologyName": topology_name},
    }


def _templates(lws: Object) -> list[Object]:
    lwt = lws["spec"]["leaderWorkerTemplate"]
    return [t for t in (lwt.get("leaderTemplate"), lwt["workerTemplate"]) if t]


def single_template(lws: Object) -> Object:
    """Leader and workers from one template: one Kueue PodSet per group, placed as one."""
    lws = copy.deepcopy(lws)
    lws["spec"]["leaderWorkerTemplate"].pop("leaderTemplate", None)
    return lws


def queued(lws: Object, queue: str, required_level: str | None) -> Object:
    """Admitted through Kueue's `queue`; with `required_level`, every group within one domain of it."""
    lws = copy.deepcopy(lws)
    lws["metadata"].setdefault("labels", {})[KUEUE_QUEUE_LABEL] = queue
    if required_level:
        for t in _templates(lws):
            t.setdefault("metadata", {}).setdefault("annotations", {})[KUEUE_REQUIRED_TOPOLOGY] = required_level
    return lws


def members_prefer_other_racks(lws: Object) -> Object:
    """A soft wish of each group's members to be in different racks (their own group only): left to
    the scheduler alone, a group spreads over the racks."""
    lws = copy.deepcopy(lws)
    term = {
        "weight": 100,
        "podAffinityTerm": {
            "topologyKey": RACK_LABEL,
            "labelSelector": {"matchLabels": {"app": lws["metadata"]["name"]}},
            "matchLabelKeys": [LWS_GROUP_KEY_LABEL],
        },
    }
    for t in _templates(lws):
        t["spec"].setdefault("affinity", {})["podAntiAffinity"] = {
            "preferredDuringSchedulingIgnoredDuringExecution": [term]
        }
    return lws


def members_in_different_racks(lws: Object) -> Object:
    """Each group's members required in different racks: a deliberately cross-rack group."""
    lws = copy.deepcopy(lws)
    term = {
        "topologyKey": RACK_LABEL,
        "labelSelector": {"matchLabels": {"app": lws["metadata"]["name"]}},
        "matchLabelKeys": [LWS_GROUP_KEY_LABEL],
    }
    for t in _templates(lws):
        t["spec"].setdefault("affinity", {})["podAntiAffinity"] = {
            "requiredDuringSchedulingIgnoredDuringExecution": [term]
        }
    return lws


def pinned_to_rack(lws: Object, rack: str) -> Object:
    lws = copy.deepcopy(lws)
    for t in _templates(lws):
        t["spec"].setdefault("nodeSelector", {})[RACK_LABEL] = rack
    return lws
