"""Mock vLLM on a real testbed: the image runs on the nodes, two groups of two form their rings across
the pod network, the leaders serve through a NodePort on 127.0.0.1, and killing a worker breaks its
group's ring for good (a recreated worker is refused) while the other group keeps serving.

The groups are made by hand (pods with LWS_* env, and a headless Service like LWS's), so this holds
with or without the LWS controller; placement env is set by hand from the nodes' racks
(the fake GPU driver will inject it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from harness import timeouts
from harness.cluster.testbed import TestbedCluster
from harness.kube.client import Clients
from harness.kube.namespaces import scratch_namespace
from harness.kube.objects import create
from harness.kube.pods import describe, wait_ready
from harness.kube.waits import wait_until
from harness.serving.images import build_mock_vllm
from harness.serving.manifests import Engine, hand_made_group, hand_made_leaders, leader_service
from harness.serving.observe import ring_state, serves

pytestmark = pytest.mark.components
NAME = "mock"


@pytest.fixture(scope="module")
def groups(kube: Clients, testbed: TestbedCluster) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    testbed.load_images([build_mock_vllm()])
    first, last = testbed.spec.workers[0], testbed.spec.workers[-1]
    assert first.rack != last.rack, "this test needs workers in two racks"
    engine = Engine(inter_token_latency_ms=5, shutdown_timeout_seconds=5, termination_grace_period_seconds=10)
    rack = {n.name: {"LLMC_RACK": n.rack or ""} for n in testbed.spec.workers}
    with scratch_namespace(kube.core, "mock-vllm") as ns:
        same_rack = hand_made_group(NAME, 0, 2, ns, engine, [first.name] * 2, [rack[first.name]] * 2)
        two_racks = hand_made_group(
            NAME, 1, 2, ns, engine, [first.name, last.name], [rack[first.name], rack[last.name]]
        )
        objects = [
            *same_rack,
            *two_racks[1:],
            leader_service("mock-api", hand_made_leaders(NAME), testbed.endpoint().node_port),
        ]
        for obj in objects:
            create(kube, obj, ns)
        yield ns, objects


def pods(objects: list[dict[str, Any]]) -> list[str]:
    return [o["metadata"]["name"] for o in objects if o["kind"] == "Pod"]


def test_groups_form_rings_and_serve_through_a_nodeport(
    kube: Clients, testbed: TestbedCluster, groups: tuple[str, list[dict[str, Any]]]
) -> None:
    ns, objects = groups
    wait_ready(kube.core, ns, pods(objects), timeout=timeouts.GROUP_WHOLE)
    for leader, racks, slowdown in (("mock-0", 1, 1.0), ("mock-1", 2, 2.0)):
        seen = ring_state(kube, ns, leader)
        assert seen["phase"] == "formed" and seen["joined"] == [0, 1], seen
        assert len(seen["placement"]["racks"]) == racks and seen["itl_slowdown"] == slowdown, seen
    serves(testbed.endpoint().host_port, requests=10)


def test_lost_worker_breaks_its_ring_and_its_replacement_is_refused(
    kube: Clients, testbed: TestbedCluster, groups: tuple[str, list[dict[str, Any]]]
) -> None:
    ns, objects = groups
    wait_ready(kube.core, ns, pods(objects), timeout=timeouts.GROUP_WHOLE)
    worker = next(o for o in objects if o["kind"] == "Pod" and o["metadata"]["name"] == "mock-1-1")
    kube.core.delete_namespaced_pod("mock-1-1", ns, grace_period_seconds=0)

    def leader_broken() -> tuple[bool, str]:
        seen = ring_state(kube, ns, "mock-1")
        pod = kube.core.read_namespaced_pod("mock-1", ns)
        ready = any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])
        return seen["phase"] == "broken" and not ready, f"ring {seen['phase']} {seen['reason']!r}; {describe(pod)}"

    wait_until(leader_broken, timeouts.REACTION, "leader mock-1 broken and not Ready")

    def gone() -> tuple[bool, str]:
        try:
            return False, describe(kube.core.read_namespaced_pod("mock-1-1", ns))
        except ApiException as e:
            return e.status == 404, f"HTTP {e.status}"

    wait_until(gone, timeouts.REACTION, "pod mock-1-1 deleted")
    create(kube, worker, ns)  # what a lone pod restart does

    def refused() -> tuple[bool, str]:
        seen = ring_state(kube, ns, "mock-1-1")
        return seen["phase"] == "broken" and "refused by the leader" in seen["reason"], str(seen)

    wait_until(refused, timeouts.GROUP_WHOLE, "the recreated worker refused by the old ring")
    assert ring_state(kube, ns, "mock-1")["phase"] == "broken"
    serves(testbed.endpoint().host_port, requests=5)  # group 0 still serves behind the same Service
