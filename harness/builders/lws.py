"""LeaderWorkerSets: a fluent wrapper over an LWS of any pod template (mock vLLM engines from
harness/serving/manifests.py, or sleepers), with the knobs the suites turn.

    LeaderWorkerSet(mock_vllm_lws("tas", size=2, replicas=3)).single_template().queue("q").obj()
    LeaderWorkerSet.sleepers("infer", groups=2, size=3).obj()
"""

from __future__ import annotations

import copy

from harness.builders.core import TINY
from harness.kube.labels import (
    HOSTNAME_LABEL,
    KUEUE_PRIORITY_LABEL,
    KUEUE_QUEUE_LABEL,
    KUEUE_REQUIRED_TOPOLOGY,
    LWS_API,
    LWS_GROUP_KEY_LABEL,
    LWS_NAME_LABEL,
    SCRAPE_ANNOTATION,
    SCRAPE_PORT_ANNOTATION,
)
from harness.kube.objects import Object, busybox_image
from harness.spec import RACK_LABEL


class LeaderWorkerSet:
    def __init__(self, lws: Object) -> None:
        self.lws = copy.deepcopy(lws)

    @classmethod
    def sleepers(cls, name: str, groups: int, size: int) -> LeaderWorkerSet:
        """`groups` groups of `size` pods (a leader and size-1 workers), each pod sleeping."""
        sleeper = {"name": "main", "image": busybox_image(), "command": ["sleep", "3600"]}
        template = {"spec": {"terminationGracePeriodSeconds": 1, "containers": [{**sleeper, "resources": TINY}]}}
        return cls(
            {
                "apiVersion": LWS_API,
                "kind": "LeaderWorkerSet",
                "metadata": {"name": name},
                "spec": {"replicas": groups, "leaderWorkerTemplate": {"size": size, "workerTemplate": template}},
            }
        )

    @property
    def name(self) -> str:
        return str(self.lws["metadata"]["name"])

    def _templates(self) -> list[Object]:
        lwt = self.lws["spec"]["leaderWorkerTemplate"]
        return [t for t in (lwt.get("leaderTemplate"), lwt["workerTemplate"]) if t]

    def queue(self, queue: str, priority_class: str | None = None) -> LeaderWorkerSet:
        """Submitted to a LocalQueue: Kueue makes one Workload per group and gates its pods until the
        whole group is admitted (at the WorkloadPriorityClass's priority, when given)."""
        labels = self.lws["metadata"].setdefault("labels", {})
        labels[KUEUE_QUEUE_LABEL] = queue
        if priority_class:
            labels[KUEUE_PRIORITY_LABEL] = priority_class
        return self

    def required_topology(self, level: str) -> LeaderWorkerSet:
        """Kueue places every group within one domain of `level` (a node label of its Topology)."""
        for t in self._templates():
            t.setdefault("metadata", {}).setdefault("annotations", {})[KUEUE_REQUIRED_TOPOLOGY] = level
        return self

    def single_template(self) -> LeaderWorkerSet:
        """Leader and workers from one template: one Kueue PodSet per group, placed as one."""
        self.lws["spec"]["leaderWorkerTemplate"].pop("leaderTemplate", None)
        return self

    def _rack_anti_affinity(self, required: bool) -> LeaderWorkerSet:
        term = {
            "topologyKey": RACK_LABEL,
            "labelSelector": {"matchLabels": {"app": self.name}},
            "matchLabelKeys": [LWS_GROUP_KEY_LABEL],
        }
        rule = (
            {"requiredDuringSchedulingIgnoredDuringExecution": [term]}
            if required
            else {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": term}]}
        )
        for t in self._templates():
            t["spec"].setdefault("affinity", {})["podAntiAffinity"] = copy.deepcopy(rule)
        return self

    def prefer_other_racks(self) -> LeaderWorkerSet:
        """A soft wish of each group's members to be in different racks (their own group only): left to
        the scheduler alone, a group spreads over the racks."""
        return self._rack_anti_affinity(required=False)

    def different_racks(self) -> LeaderWorkerSet:
        """Each group's members required in different racks: a deliberately cross-rack group."""
        return self._rack_anti_affinity(required=True)

    def pinned_to_rack(self, rack: str) -> LeaderWorkerSet:
        for t in self._templates():
            t["spec"].setdefault("nodeSelector", {})[RACK_LABEL] = rack
        return self

    def readiness(self, probe: Object) -> LeaderWorkerSet:
        """Every member's first container gets this readiness probe."""
        for t in self._templates():
            t["spec"]["containers"][0]["readinessProbe"] = dict(probe)
        return self

    def readiness_path(self, path: str) -> LeaderWorkerSet:
        """The HTTP readiness probe asks `path`: one that never answers 200 makes a group that is never
        Ready, like an engine that never finishes loading."""
        for t in self._templates():
            t["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"] = path
        return self

    def scraped(self, port: int) -> LeaderWorkerSet:
        """Prometheus scrapes every member's /metrics on `port`."""
        for t in self._templates():
            t["metadata"]["annotations"] = {SCRAPE_ANNOTATION: "true", SCRAPE_PORT_ANNOTATION: str(port)}
        return self

    def _members(self, **keys: list[str]) -> Object:
        """A pod affinity term over this LWS's pods on one node, told apart by the group-key label."""
        return {"labelSelector": {"matchLabels": {LWS_NAME_LABEL: self.name}}, "topologyKey": HOSTNAME_LABEL, **keys}

    def spread_members(self) -> LeaderWorkerSet:
        """The members of one group run on different nodes."""
        term = self._members(matchLabelKeys=[LWS_GROUP_KEY_LABEL])
        for t in self._templates():
            affinity = t["spec"].setdefault("affinity", {})
            affinity["podAntiAffinity"] = {"requiredDuringSchedulingIgnoredDuringExecution": [copy.deepcopy(term)]}
        return self

    def node_per_group(self) -> LeaderWorkerSet:
        """No node hosts two groups, so draining a node takes down exactly one group. Hard: the
        anti-affinity to other groups. Soft: a group's members share a node, so a replacement is never
        held to the node its terminating predecessor still occupies (a hard co-location would be)."""
        others = self._members(mismatchLabelKeys=[LWS_GROUP_KEY_LABEL])
        own = self._members(matchLabelKeys=[LWS_GROUP_KEY_LABEL])
        for t in self._templates():
            affinity = t["spec"].setdefault("affinity", {})
            affinity["podAntiAffinity"] = {"requiredDuringSchedulingIgnoredDuringExecution": [copy.deepcopy(others)]}
            affinity["podAffinity"] = {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 100, "podAffinityTerm": copy.deepcopy(own)}
                ]
            }
        return self

    def worker_pre_stop(self, seconds: int) -> LeaderWorkerSet:
        """Workers sleep `seconds` in preStop (their grace period covers it): a worker that leaves breaks
        its leader's ring and cuts the leader's streams, so in a graceful drain the workers must outlive
        the leader's drain."""
        spec = self.lws["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"]
        spec["containers"][0]["lifecycle"] = {"preStop": {"sleep": {"seconds": seconds}}}
        spec["terminationGracePeriodSeconds"] = max(spec.get("terminationGracePeriodSeconds", 30), seconds + 5)
        return self

    def rollout(self, max_unavailable: int | None = None, max_surge: int | None = None) -> LeaderWorkerSet:
        """A RollingUpdate strategy with these bounds (in groups)."""
        rolling: Object = {}
        if max_unavailable is not None:
            rolling["maxUnavailable"] = max_unavailable
        if max_surge is not None:
            rolling["maxSurge"] = max_surge
        self.lws["spec"]["rolloutStrategy"] = {"type": "RollingUpdate", "rollingUpdateConfiguration": rolling}
        return self

    def obj(self) -> Object:
        return copy.deepcopy(self.lws)
