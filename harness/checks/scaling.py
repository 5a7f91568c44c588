"""Scaling checks: KEDA scales a LeaderWorkerSet by whole groups on the engines' queue length
(`vllm:num_requests_waiting`, scraped by Prometheus), and no group serves before it is whole.
Each raises CheckFailed with the evidence, or returns its figure.

suites/test_scaling.py runs them; tests/cluster/test_scaling_negative.py runs each where its claim
is false (no KEDA trigger on the LWS; leaders that serve without their workers) and expects CheckFailed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import openai
import requests
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from harness.checks import CheckFailed
from harness.cluster.testbed import TestbedCluster
from harness.kube.client import Clients
from harness.kube.dynamic import create
from harness.kube.namespaces import scratch_namespace
from harness.kube.waits import WaitTimeout, wait_until
from harness.load import LoadSpec
from harness.stack import keda, prometheus
from harness.workloads import buffer, groups, inference
from harness.workloads.groups import GroupTimeline
from harness.workloads.inference import Service
from harness.workloads.manifests import Engine
from harness.workloads.observe import timed_stream


def _evidence(kube: Clients, svc: Service) -> str:
    """What KEDA saw and decided: the queue metric, ScaledObjects and the HPAs they drive."""
    lines = []
    try:
        waiting = prometheus.query(kube, inference.waiting_query(svc.namespace))
        lines.append(f"{inference.WAITING} now: {[s['value'][1] for s in waiting] or 'no series'}")
    except Exception as e:  # evidence is best effort; the failure itself is already known
        lines.append(f"(Prometheus not readable: {e})")
    group, version = keda.API.split("/")
    try:
        objs: Any = client.CustomObjectsApi(kube.api).list_namespaced_custom_object(
            group, version, svc.namespace, "scaledobjects"
        )
        for so in objs["items"]:
            conds = {c["type"]: c["status"] for c in so.get("status", {}).get("conditions", [])}
            lines.append(f"ScaledObject {so['metadata']['name']}: {conds}")
        hpas = client.AutoscalingV2Api(kube.api).list_namespaced_horizontal_pod_autoscaler(svc.namespace).items
        for hpa in hpas:
            lines.append(f"HPA {hpa.metadata.name}: desired {hpa.status.desired_replicas}")
        if not objs["items"] and not hpas:
            lines.append("no ScaledObject and no HPA targets the LWS")
    except ApiException as e:
        lines.append(f"(cannot read scaling objects: {e.reason})")
    return "; ".join(lines)


def scaled_to(kube: Clients, svc: Service, count: int, timeout: float) -> float:
    """The LWS reaches `count` groups (spec.replicas) and exactly that many groups exist, each whole
    and serving (none when `count` is 0); returns the seconds it took."""

    def reached() -> tuple[bool, str]:
        s = groups.sample(kube, svc.namespace, svc.lws, svc.service)
        whole = sum(g.whole(svc.size) and g.serving for g in s.groups.values())
        seen = "; ".join(g.describe(svc.size) for g in s.groups.values()) or "no pods"
        done = s.replicas == count and whole == count == len(s.groups)
        return done, f"LWS replicas {s.replicas}, {whole} whole groups serving: {seen}"

    try:
        return wait_until(reached, timeout, f"LWS {svc.namespace}/{svc.lws} scaled to {count} groups", interval=1)
    except WaitTimeout as e:
        raise CheckFailed(f"{e}; {_evidence(kube, svc)}") from None


def whole_before_serving(timeline: GroupTimeline) -> dict[int, float]:
    """No sample shows a group with missing or unready members whose leader is a ready endpoint of
    the Service; returns the partial-group seconds per group index."""
    if len(timeline.samples) < 2:
        raise CheckFailed(f"LWS {timeline.lws}: {len(timeline.samples)} samples, cannot judge the groups")
    violations = timeline.partial_serving()
    if violations:
        shown = violations[:5] + ([f"... {len(violations) - 5} more samples"] if len(violations) > 5 else [])
        raise CheckFailed(f"LWS {timeline.lws}: a partial group received traffic:\n  " + "\n  ".join(shown))
    return timeline.partial_seconds()


def scaled_from_zero(kube: Clients, svc: Service, host_port: int, timeout: float) -> tuple[float, float]:
    """With the LWS at zero groups, the first request (one stream through the front door on
    127.0.0.1:host_port) is answered in full, by a whole group the LWS scaled up for it. Returns the
    request's time to first token and the seconds from the request to that group's leader Ready."""
    s = groups.sample(kube, svc.namespace, svc.lws, svc.service)
    if s.replicas != 0 or s.groups:
        raise CheckFailed(f"LWS {svc.lws} is not at zero groups before the request: replicas {s.replicas}")
    sent = time.time()
    try:
        got, first = timed_stream(host_port, timeout=timeout)
    except openai.OpenAIError as e:
        raise CheckFailed(
            f"the first request to zero groups was not answered: {type(e).__name__}: {str(e)[:300]} "
            f"after {time.time() - sent:.0f} s; {_evidence(kube, svc)}"
        ) from None
    if got != 8 or first is None:
        raise CheckFailed(f"the first request got {got} of 8 tokens; {_evidence(kube, svc)}")
    after = groups.sample(kube, svc.namespace, svc.lws, svc.service)
    whole = [g for g in after.groups.values() if g.whole(svc.size) and g.serving]
    if not whole:
        seen = "; ".join(g.describe(svc.size) for g in after.groups.values()) or "no pods"
        raise CheckFailed(f"answered, yet no whole group serves: {seen}")
    leader = kube.core.read_namespaced_pod(f"{svc.lws}-{whole[0].index}", svc.namespace)
    ready = next(c for c in leader.status.conditions or [] if c.type == "Ready")
    return first, ready.last_transition_time.timestamp() - sent


def buffer_preempted(kube: Clients, namespace: str, placeholders: list[str]) -> list[str]:
    """The scheduler preempted placeholders of the capacity buffer to place the new groups;
    returns the preempted ones."""
    gone = buffer.preempted(kube, namespace, placeholders)
    if not gone:
        raise CheckFailed(
            f"no placeholder of the capacity buffer was preempted: {placeholders} all still hold their CPU"
        )
    return gone


# --- set-ups the checks run on ----------------------------------------------------------------------------

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


def most_groups(testbed: TestbedCluster) -> int:
    """One group per worker node: the scale-up target, and KEDA's maxReplicaCount."""
    return len(testbed.spec.workers)


def queue_load(testbed: TestbedCluster, groups: int, duration: float) -> LoadSpec:
    # At `groups` groups, users - 2 * groups requests still wait: enough for KEDA to want more.
    return LoadSpec(
        target=f"http://127.0.0.1:{testbed.spec.ports[0].host_port}",
        users=6 * groups,
        spawn_rate=6 * groups,
        duration=duration,
        max_requests=20000,
        max_tokens=64,
    )


FROM_ZERO_HOLD = 150  # seconds the gateway holds the first request: KEDA's poll, a scrape, a group's start


@contextmanager
def from_zero_service(
    kube: Clients, testbed: TestbedCluster, query: Callable[[str], str], hold: float = FROM_ZERO_HOLD
) -> Iterator[Service]:
    """An LWS at zero groups behind the request-holding gateway on the testbed's first port, scaled by
    KEDA between 0 and 1 group on `query(namespace)`: inference.waiting_or_held_query sees the held
    first request, inference.waiting_query (the engines' queue alone) cannot."""
    with scratch_namespace(kube.core, "fromzero") as ns:
        svc = inference.deploy(kube, ns, inference.inference_lws("infer", SIZE, 0, ENGINE), node_port=None)
        for obj in inference.gateway("gateway", svc.service, testbed.spec.ports[0].node_port, hold):
            create(kube, obj, ns)
        create(kube, inference.scaled_object(svc, THRESHOLD, 0, 1, query(ns)), ns)
        url = f"http://127.0.0.1:{testbed.spec.ports[0].host_port}/health"

        def gateway_answers() -> tuple[bool, str]:
            try:
                return requests.get(url, timeout=2).status_code == 200, "gateway /health"
            except requests.RequestException as e:
                return False, f"{url}: {type(e).__name__}"

        wait_until(gateway_answers, 120, "the gateway answers through the testbed's port", interval=1)
        scaled_to(kube, svc, 0, timeout=60)
        yield svc
