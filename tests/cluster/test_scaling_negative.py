"""Negative controls for the scaling checks: on a setup where the claim is false, each check fails.

Runs on the same real testbed and stack as suites/test_scaling.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.checks import CheckFailed, scaling
from harness.cluster.testbed import TestbedCluster
from harness.kube.client import Clients
from harness.kube.labels import LWS_GROUP_INDEX_LABEL
from harness.kube.namespaces import scratch_namespace
from harness.kube.waits import wait_until
from harness.load import background
from harness.scenarios.scaling import (
    BUFFER_ENGINE,
    SIZE,
    THRESHOLD,
    allow_scale_to_zero,
    from_zero_service,
    most_groups,
    queue_load,
    queue_scaled_service,
)
from harness.serving import buffer, inference
from harness.serving.manifests import Engine

pytestmark = pytest.mark.scaling


@pytest.fixture
def namespace(kube: Clients, mock_vllm: str) -> Iterator[str]:
    with scratch_namespace(kube.core, "scaling-neg") as ns:
        yield ns


def test_scale_check_fails_without_a_keda_trigger(
    kube: Clients, testbed: TestbedCluster, namespace: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    svc = queue_scaled_service(kube, testbed, namespace, keda=False)
    top = most_groups(testbed)
    load = queue_load(testbed, top, duration=90)
    with (
        background(load, tmp_path_factory.mktemp("no-trigger")),
        pytest.raises(CheckFailed, match=r"LWS replicas 1, 1 whole groups.*no ScaledObject and no HPA"),
    ):
        scaling.scaled_to(kube, svc, top, timeout=60)


def test_whole_group_check_fails_when_a_leader_serves_without_its_workers(
    kube: Clients, testbed: TestbedCluster, namespace: str
) -> None:
    # No readiness probe: the leader is Ready as soon as it runs. Workers that cannot be scheduled
    # (a node label no node has) keep the group partial for as long as we look.
    lws = inference.inference_lws("infer", SIZE, 1, Engine(readiness=None))
    lws["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"]["nodeSelector"] = {"llmc-no-such-node": "true"}
    svc = inference.deploy(kube, namespace, lws, node_port=None)
    with svc.observe(kube) as timeline:

        def leader_serving() -> tuple[bool, str]:
            serving = [g for s in timeline.samples[-1:] for g in s.groups.values() if g.serving]
            return bool(serving), f"{len(timeline.samples)} samples, serving groups {serving}"

        wait_until(leader_serving, 120, "the leader of the partial group becomes an endpoint", interval=1)
    with pytest.raises(CheckFailed, match=r"a partial group received traffic:\n.*group 0: 1/2 members running"):
        scaling.whole_before_serving(timeline)


def test_scale_to_zero_check_fails_when_min_replicas_stays_one(
    kube: Clients, testbed: TestbedCluster, namespace: str
) -> None:
    """The suite's idle service with minReplicaCount left at 1 instead of 0: KEDA keeps one group."""
    svc = queue_scaled_service(kube, testbed, namespace)
    allow_scale_to_zero(kube, svc, min_groups=1)
    so = inference.scaled_object(svc, THRESHOLD, 0, 1)
    # Three cooldown periods and KEDA's polls: long enough for a scale to zero to have happened.
    with pytest.raises(CheckFailed, match=r"scaled to 0 groups: not reached .*LWS replicas 1, 1 whole groups serving"):
        scaling.scaled_to(kube, svc, 0, timeout=3 * so["spec"]["cooldownPeriod"] + 15)


def test_buffer_check_fails_when_placeholders_outrank_the_groups(
    kube: Clients, testbed: TestbedCluster, namespace: str
) -> None:
    # Placeholders above the groups' priority are never preempted: the scale-up stays Pending.
    svc = inference.deploy(kube, namespace, inference.inference_lws("infer", SIZE, 1, BUFFER_ENGINE), node_port=None)
    inference.wait_whole(kube, svc, 1)
    with buffer.placeholder_class(kube, value=1000) as priority_class:
        nodes = [w.name for w in testbed.spec.workers]
        placeholders = buffer.fill(kube, namespace, nodes, priority_class, leave_millis=100)
        inference.patch_lws(kube, svc, {"spec": {"replicas": 2}})

        def unschedulable() -> tuple[bool, str]:
            reasons = buffer.scheduling_reasons(kube, namespace, f"{LWS_GROUP_INDEX_LABEL}=1")
            return "Unschedulable" in reasons, f"group 1 pods scheduling: {reasons or 'no pods yet'}"

        wait_until(unschedulable, 90, "the scheduler tried and failed to place group 1", interval=1)
        with pytest.raises(CheckFailed, match="no placeholder of the capacity buffer was preempted"):
            scaling.buffer_preempted(kube, namespace, placeholders)


def test_from_zero_check_fails_when_keda_sees_only_the_engines_queue(
    kube: Clients, testbed: TestbedCluster, mock_vllm: str
) -> None:
    """With zero groups no engine exports vllm:num_requests_waiting: KEDA on that alone never hears of
    the request the gateway holds, and the request is refused when the hold ends."""
    refused = r"first request to zero groups was not answered.*no engine served within 40 s"
    with (
        from_zero_service(kube, testbed, inference.waiting_query, hold=40) as svc,
        pytest.raises(CheckFailed, match=refused),
    ):
        scaling.scaled_from_zero(kube, svc, testbed.endpoint().host_port, timeout=90)
