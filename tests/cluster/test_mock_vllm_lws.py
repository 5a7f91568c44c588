"""Mock vLLM as a LeaderWorkerSet on a real testbed: 2 groups of size 2, made by the real LWS
controller (installed by harness.stack), form their rings and serve through a NodePort on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness import timeouts
from harness.cluster.testbed import TestbedCluster
from harness.kube.client import Clients
from harness.kube.labels import LWS_NAME_LABEL
from harness.kube.namespaces import scratch_namespace
from harness.kube.objects import create
from harness.kube.waits import wait_until
from harness.serving.images import build_mock_vllm
from harness.serving.manifests import Engine, leader_service, lws_leaders, mock_vllm_lws
from harness.serving.observe import ring_state, serves
from harness.stack import install, lws

pytestmark = pytest.mark.components
NAME, GROUPS, SIZE = "mock", 2, 2


@pytest.fixture(scope="module")
def namespace(kube: Clients, testbed: TestbedCluster) -> Iterator[str]:
    install([lws.component()], testbed)
    testbed.load_images([build_mock_vllm()])
    engine = Engine(inter_token_latency_ms=5, shutdown_timeout_seconds=5, termination_grace_period_seconds=10)
    with scratch_namespace(kube.core, "mock-lws") as ns:
        create(kube, mock_vllm_lws(NAME, size=SIZE, replicas=GROUPS, engine=engine), ns)
        create(kube, leader_service("mock-api", lws_leaders(NAME), testbed.endpoint().node_port), ns)
        yield ns


def test_lws_groups_form_rings_and_serve_through_a_nodeport(
    kube: Clients, testbed: TestbedCluster, namespace: str
) -> None:
    leaders = [f"{NAME}-{g}" for g in range(GROUPS)]
    members = leaders + [f"{NAME}-{g}-{w}" for g in range(GROUPS) for w in range(1, SIZE)]

    def all_ready() -> tuple[bool, str]:
        pods = kube.core.list_namespaced_pod(namespace, label_selector=f"{LWS_NAME_LABEL}={NAME}").items
        ready = {
            p.metadata.name
            for p in pods
            if any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
        }
        return ready == set(members), f"ready {sorted(ready)} of {members}"

    wait_until(all_ready, timeouts.ROLLOUT, f"LWS {NAME}: {GROUPS} groups of {SIZE} Ready")
    for leader in leaders:
        seen = ring_state(kube, namespace, leader)
        assert seen["phase"] == "formed" and seen["joined"] == list(range(SIZE)), seen
    serves(testbed.endpoint().host_port, requests=10)


def test_lws_recreates_a_broken_group_and_its_ring_forms_again(
    kube: Clients, testbed: TestbedCluster, namespace: str
) -> None:
    """Killing a worker breaks its ring; LWS's default RecreateGroupOnPodRestart recreates the whole
    group (a new leader process), which forms a new ring: the behaviour the restart suite checks."""
    leader, worker = f"{NAME}-1", f"{NAME}-1-1"
    before = ring_state(kube, namespace, leader)
    assert before["phase"] == "formed", before
    old_uid = kube.core.read_namespaced_pod(leader, namespace).metadata.uid
    kube.core.delete_namespaced_pod(worker, namespace, grace_period_seconds=0)

    def new_ring() -> tuple[bool, str]:
        pod = kube.core.read_namespaced_pod(leader, namespace)
        if pod.metadata.uid == old_uid:
            return False, "leader pod not recreated yet"
        seen = ring_state(kube, namespace, leader)
        return seen["phase"] == "formed" and seen["ring_id"] != before["ring_id"], f"ring {seen['phase']}"

    wait_until(new_ring, timeouts.GROUP_WHOLE, f"group 1 recreated with a new ring after {worker} was killed")
    serves(testbed.endpoint().host_port, requests=5)
