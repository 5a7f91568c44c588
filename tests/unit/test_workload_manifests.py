"""The mock vLLM manifest builders: LWS shape, drain knobs, claim hooks, and hand-made groups."""

from __future__ import annotations

import mock_vllm
import pytest

from harness.kube.labels import LWS_NAME_LABEL
from harness.serving.images import mock_vllm_image
from harness.serving.manifests import (
    Engine,
    Probe,
    hand_made_group,
    hand_made_leaders,
    leader_service,
    lws_leaders,
    mock_vllm_deployment,
    mock_vllm_lws,
)


def test_lws_has_groups_of_size_with_the_engine_in_both_templates() -> None:
    lws = mock_vllm_lws("mock", size=2, replicas=3, restart_policy="None", startup_policy="LeaderReady")
    spec = lws["spec"]
    assert lws["apiVersion"] == "leaderworkerset.x-k8s.io/v1" and spec["replicas"] == 3
    assert spec["startupPolicy"] == "LeaderReady"
    template = spec["leaderWorkerTemplate"]
    assert template["size"] == 2 and template["restartPolicy"] == "None"
    for role in ("leaderTemplate", "workerTemplate"):
        container = template[role]["spec"]["containers"][0]
        assert container["image"].startswith("llm-conformance.local/mock-vllm:0.1.0-")
        assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": 8000}
    with pytest.raises(ValueError, match="size must be"):
        mock_vllm_lws("mock", size=0)


def test_drain_knobs_and_claims_reach_the_pod() -> None:
    claim = {"name": "gpu", "resourceClaimTemplateName": "one-gpu"}
    engine = Engine(
        shutdown_timeout_seconds=90,
        termination_grace_period_seconds=120,
        pre_stop_sleep_seconds=10,
        readiness=Probe(period_seconds=1, failure_threshold=2),
        resource_claims=(claim,),
    )
    spec = mock_vllm_deployment("mock", replicas=2, engine=engine)["spec"]["template"]["spec"]
    container = spec["containers"][0]
    assert spec["terminationGracePeriodSeconds"] == 120
    assert "--shutdown-timeout=90" in container["args"]
    assert container["lifecycle"] == {"preStop": {"sleep": {"seconds": 10}}}
    assert container["readinessProbe"]["periodSeconds"] == 1 and container["readinessProbe"]["failureThreshold"] == 2
    assert spec["resourceClaims"] == [claim] and container["resources"]["claims"] == [{"name": "gpu"}]
    no_probe = mock_vllm_deployment("m", engine=Engine(readiness=None))["spec"]["template"]["spec"]["containers"][0]
    assert "readinessProbe" not in no_probe and "lifecycle" not in no_probe


def test_hand_made_group_resolves_its_leader_like_lws() -> None:
    service, leader, worker = hand_made_group(
        "mock", 1, 2, "ns", nodes=["a", "b"], member_env=[{}, {"LLMC_RACK": "r2"}]
    )
    assert service["spec"]["clusterIP"] == "None" and service["spec"]["publishNotReadyAddresses"]
    assert [leader["metadata"]["name"], worker["metadata"]["name"]] == ["mock-1", "mock-1-1"]
    assert worker["spec"]["hostname"] == "mock-1-1" and worker["spec"]["subdomain"] == "mock"
    assert worker["spec"]["nodeSelector"] == {"kubernetes.io/hostname": "b"}
    env = {e["name"]: e.get("value") for e in worker["spec"]["containers"][0]["env"]}
    assert env["LWS_LEADER_ADDRESS"] == "mock-1.mock.ns" and env["LWS_WORKER_INDEX"] == "1"
    assert env["LWS_GROUP_SIZE"] == "2" and env["LLMC_RACK"] == "r2"
    assert LWS_NAME_LABEL not in leader["metadata"]["labels"]  # LWS's webhook rejects its labels on foreign pods


def test_leader_service_selects_leaders_only() -> None:
    assert leader_service("api", lws_leaders("mock"), 30080)["spec"]["selector"] == {
        "leaderworkerset.sigs.k8s.io/name": "mock",
        "leaderworkerset.sigs.k8s.io/worker-index": "0",
    }
    service = leader_service("api", hand_made_leaders("mock"), 30080)["spec"]
    assert service["type"] == "NodePort" and service["ports"][0]["nodePort"] == 30080


def test_image_tag_is_the_package_version_and_content_key() -> None:
    version, key = mock_vllm_image().removeprefix("llm-conformance.local/mock-vllm:").split("-")
    assert version == mock_vllm.__version__ and len(key) == 12
