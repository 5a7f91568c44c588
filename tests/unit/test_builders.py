"""The fluent builders (harness/builders) make the objects the suites used to write out by hand."""

from __future__ import annotations

from harness.builders.kueue import ROOMY, ClusterQueue, LocalQueue, ResourceFlavor, Topology, WorkloadPriorityClass
from harness.builders.lws import LeaderWorkerSet
from harness.kube.labels import KUEUE_PRIORITY_LABEL, KUEUE_QUEUE_LABEL, KUEUE_REQUIRED_TOPOLOGY, LWS_GROUP_KEY_LABEL
from harness.serving.manifests import mock_vllm_lws
from harness.spec import RACK_LABEL, ZONE_LABEL
from harness.stack.kueue import GPU_RESOURCE


def test_a_gpu_cluster_queue_covers_cpu_memory_and_gpus_and_may_preempt() -> None:
    cq = ClusterQueue("cq").flavor("f").quota(**ROOMY, gpus=8).preempt_lower_priority().obj()
    assert cq["kind"] == "ClusterQueue" and cq["metadata"] == {"name": "cq"}
    assert cq["spec"] == {
        "namespaceSelector": {},
        "resourceGroups": [
            {
                "coveredResources": ["cpu", "memory", GPU_RESOURCE],
                "flavors": [
                    {
                        "name": "f",
                        "resources": [
                            {"name": "cpu", "nominalQuota": "64"},
                            {"name": "memory", "nominalQuota": "256Gi"},
                            {"name": GPU_RESOURCE, "nominalQuota": "8"},
                        ],
                    }
                ],
            }
        ],
        "preemption": {"withinClusterQueue": "LowerPriority"},
    }


def test_gpu_quota_counts_the_resource_the_running_kueue_maps_the_gpu_class_to() -> None:
    cq = ClusterQueue("cq").flavor("f").quota(gpus=4, gpu_resource="example.com/gpu").obj()
    (group,) = cq["spec"]["resourceGroups"]
    assert group["coveredResources"] == ["example.com/gpu"]
    assert group["flavors"][0]["resources"] == [{"name": "example.com/gpu", "nominalQuota": "4"}]


def test_flavors_queues_topologies_and_priorities() -> None:
    assert ResourceFlavor("f").obj()["spec"] == {}
    flavor = ResourceFlavor("f").node_labels({ZONE_LABEL: "z"}).topology("t").obj()
    assert flavor["spec"] == {"nodeLabels": {ZONE_LABEL: "z"}, "topologyName": "t"}
    assert LocalQueue("q", "cq").obj()["spec"] == {"clusterQueue": "cq"}
    assert [level["nodeLabel"] for level in Topology("t").obj()["spec"]["levels"]][:2] == [ZONE_LABEL, RACK_LABEL]
    assert WorkloadPriorityClass("high", 1000).obj()["value"] == 1000


def test_lws_knobs_reach_every_template_and_leave_the_input_alone() -> None:
    base = mock_vllm_lws("tas", size=2, replicas=3)
    lws = LeaderWorkerSet(base).single_template().prefer_other_racks().queue("q", "high").required_topology(RACK_LABEL)
    obj = lws.obj()
    assert "leaderTemplate" in base["spec"]["leaderWorkerTemplate"]
    assert "leaderTemplate" not in obj["spec"]["leaderWorkerTemplate"]
    assert obj["metadata"]["labels"] == {KUEUE_QUEUE_LABEL: "q", KUEUE_PRIORITY_LABEL: "high"}
    worker = obj["spec"]["leaderWorkerTemplate"]["workerTemplate"]
    assert worker["metadata"]["annotations"][KUEUE_REQUIRED_TOPOLOGY] == RACK_LABEL
    term = worker["spec"]["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
    assert term["podAffinityTerm"]["matchLabelKeys"] == [LWS_GROUP_KEY_LABEL]
    required = LeaderWorkerSet(base).different_racks().pinned_to_rack("rack-1").readiness_path("/never").obj()
    for role in ("leaderTemplate", "workerTemplate"):
        spec = required["spec"]["leaderWorkerTemplate"][role]["spec"]
        assert (
            spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]["topologyKey"]
            == RACK_LABEL
        )
        assert spec["nodeSelector"] == {RACK_LABEL: "rack-1"}
        assert spec["containers"][0]["readinessProbe"]["httpGet"]["path"] == "/never"


def test_sleeper_groups() -> None:
    lws = LeaderWorkerSet.sleepers("infer", groups=2, size=3).obj()
    assert lws["spec"]["replicas"] == 2 and lws["spec"]["leaderWorkerTemplate"]["size"] == 3
    assert lws["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"]["containers"][0]["command"] == [
        "sleep",
        "3600",
    ]


def test_drain_and_rollout_knobs() -> None:
    lws = LeaderWorkerSet(mock_vllm_lws("infer", size=2, replicas=3)).worker_pre_stop(40).rollout(max_surge=1)
    obj = lws.node_per_group().scraped(8000).obj()
    worker = obj["spec"]["leaderWorkerTemplate"]["workerTemplate"]
    assert worker["spec"]["containers"][0]["lifecycle"] == {"preStop": {"sleep": {"seconds": 40}}}
    assert worker["spec"]["terminationGracePeriodSeconds"] == 45
    assert obj["spec"]["rolloutStrategy"] == {"type": "RollingUpdate", "rollingUpdateConfiguration": {"maxSurge": 1}}
    anti = worker["spec"]["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
    assert anti["mismatchLabelKeys"] == [LWS_GROUP_KEY_LABEL]
    assert worker["metadata"]["annotations"] == {"prometheus.io/scrape": "true", "prometheus.io/port": "8000"}
