"""The scaling suite's set-ups (suites/test_scaling*.py), shared with its negative controls
(tests/cluster/test_scaling_negative.py): an LWS of mock vLLM groups behind a Service, KEDA on the
engines' queue, a queue-making load, a capacity buffer, and the from-zero front door. Each control
calls the same set-up with one parameter changed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import requests

from harness import timeouts
from harness.checks import scaling
from harness.cluster.testbed import TestbedCluster
from harness.kube.client import Clients
from harness.kube.namespaces import scratch_namespace
from harness.kube.objects import create
from harness.kube.waits import wait_until
from harness.load import LoadSpec
from harness.serving import buffer, inference
from harness.serving.inference import Service
from harness.serving.manifests import Engine

SIZE = 2
# Two sequences per engine: a few users already make a queue, which is what KEDA scales on.
ENGINE = Engine(
    max_num_seqs=2, inter_token_latency_ms=20, shutdown_timeout_seconds=10, termination_grace_period_seconds=20
)
THRESHOLD = 2  # requests waiting per group
BUFFER_CPU_MILLIS = 300  # each member's CPU request in the buffer check: what placeholders must give up
BUFFER_ENGINE = Engine(
    resources={"requests": {"cpu": f"{BUFFER_CPU_MILLIS}m", "memory": "48Mi"}},
    termination_grace_period_seconds=5,
    shutdown_timeout_seconds=2,
)
FROM_ZERO_HOLD = 150  # seconds the gateway holds the first request: KEDA's poll, a scrape, a group's start


def most_groups(testbed: TestbedCluster) -> int:
    """One group per worker node: the scale-up target, and KEDA's maxReplicaCount."""
    return len(testbed.spec.workers)


def queue_load(testbed: TestbedCluster, groups: int, duration: float) -> LoadSpec:
    # At `groups` groups, users - 2 * groups requests still wait: enough for KEDA to want more.
    return LoadSpec(
        target=testbed.endpoint().url,
        users=6 * groups,
        spawn_rate=6 * groups,
        duration=duration,
        max_requests=20000,
        max_tokens=64,
    )


def queue_scaled_service(kube: Clients, testbed: TestbedCluster, namespace: str, keda: bool = True) -> Service:
    """One whole group behind the testbed's NodePort; with `keda`, a ScaledObject on the engines'
    queue between 1 group and one per worker (the control for scaling leaves it out)."""
    svc = inference.deploy(
        kube, namespace, inference.inference_lws("infer", SIZE, 1, ENGINE), testbed.endpoint().node_port
    )
    inference.wait_whole(kube, svc, 1)
    if keda:
        create(kube, inference.scaled_object(svc, THRESHOLD, 1, most_groups(testbed)), namespace)
    return svc


def allow_scale_to_zero(kube: Clients, svc: Service, min_groups: int = 0) -> None:
    """Lower the ScaledObject's minReplicaCount to `min_groups` (the suite: 0; its control leaves 1)."""
    inference.patch_scaled_object(kube, svc, {"spec": {"minReplicaCount": min_groups, "maxReplicaCount": 1}})


def scale_up_seconds(
    kube: Clients, testbed: TestbedCluster, priority_class: str | None
) -> tuple[float, list[str], list[str]]:
    """Seconds from asking for every group to all of them whole and serving, with the worker nodes'
    free CPU held by placeholders at `priority_class` when given; the placeholders placed, and those
    the scale-up preempted (CheckFailed when placeholders were asked for and none could be placed:
    a scale-up with nothing to preempt tests nothing)."""
    top = most_groups(testbed)
    with scratch_namespace(kube.core, "buffer") as ns:
        svc = inference.deploy(kube, ns, inference.inference_lws("infer", SIZE, 1, BUFFER_ENGINE), node_port=None)
        inference.wait_whole(kube, svc, 1)
        placeholders: list[str] = []
        if priority_class:
            nodes = [w.name for w in testbed.spec.workers]
            placeholders = buffer.fill(kube, ns, nodes, priority_class, leave_millis=BUFFER_CPU_MILLIS // 2)
            scaling.buffer_placed(placeholders, nodes)
        inference.patch_lws(kube, svc, {"spec": {"replicas": top}})
        seconds = scaling.scaled_to(kube, svc, top, timeout=timeouts.SCALE)
        return seconds, placeholders, scaling.buffer_preempted(kube, ns, placeholders) if placeholders else []


@contextmanager
def from_zero_service(
    kube: Clients, testbed: TestbedCluster, query: Callable[[str], str], hold: float = FROM_ZERO_HOLD
) -> Iterator[Service]:
    """An LWS at zero groups behind the request-holding gateway on the testbed's first port, scaled by
    KEDA between 0 and 1 group on `query(namespace)`: inference.waiting_or_held_query sees the held
    first request, inference.waiting_query (the engines' queue alone, the control) cannot."""
    with scratch_namespace(kube.core, "fromzero") as ns:
        svc = inference.deploy(kube, ns, inference.inference_lws("infer", SIZE, 0, ENGINE), node_port=None)
        for obj in inference.gateway("gateway", svc.service, testbed.endpoint().node_port, hold):
            create(kube, obj, ns)
        create(kube, inference.scaled_object(svc, THRESHOLD, 0, 1, query(ns)), ns)
        url = f"{testbed.endpoint().url}/health"

        def gateway_answers() -> tuple[bool, str]:
            try:
                return requests.get(url, timeout=2).status_code == 200, "gateway /health"
            except requests.RequestException as e:
                return False, f"{url}: {type(e).__name__}"

        wait_until(gateway_answers, timeouts.POD_READY, "the gateway answers through the testbed's port", interval=1)
        scaling.scaled_to(kube, svc, 0, timeout=timeouts.REACTION)
        yield svc
