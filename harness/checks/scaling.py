"""Scaling checks: KEDA scales a LeaderWorkerSet by whole groups on the engines' queue length
(`vllm:num_requests_waiting`, scraped by Prometheus), and no group serves before it is whole.
Each raises CheckFailed with the evidence, or returns its figure.

suites/test_scaling.py runs them on the set-ups in harness/scenarios/scaling.py;
tests/cluster/test_scaling_negative.py runs each on the same set-up with one thing changed (no KEDA
trigger on the LWS; leaders that serve without their workers; minReplicaCount left at 1; placeholders
that outrank the groups; KEDA blind to the held request) and expects CheckFailed.
"""

from __future__ import annotations

import time
from typing import Any

import openai
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from harness.checks import CheckFailed
from harness.checks.sampling import check_sampled
from harness.kube.client import Clients
from harness.kube.conditions import condition
from harness.kube.labels import KEDA_API
from harness.kube.waits import WaitTimeout, wait_until
from harness.serving import buffer, groups, inference
from harness.serving.groups import GroupTimeline
from harness.serving.inference import Service
from harness.serving.observe import timed_stream
from harness.stack import prometheus

# Seconds the group that answered the first request may take to show every member Ready: a worker's
# readiness probe period (2 s) several times over, far below a group's start (about 10 s).
WHOLE_AFTER_ANSWER = 15


def _evidence(kube: Clients, svc: Service) -> str:
    """What KEDA saw and decided: the queue metric, ScaledObjects and the HPAs they drive."""
    lines = []
    try:
        waiting = prometheus.query(kube, inference.waiting_query(svc.namespace))
        lines.append(f"{inference.WAITING} now: {[s['value'][1] for s in waiting] or 'no series'}")
    except Exception as e:  # evidence is best effort; the failure itself is already known
        lines.append(f"(Prometheus not readable: {e})")
    group, version = KEDA_API.split("/")
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


def created_groups(timeline: GroupTimeline) -> list[int]:
    """The groups that appeared after the first sample: those the scaling created."""
    if not timeline.samples:
        return []
    first = set(timeline.samples[0].groups)
    return sorted({i for s in timeline.samples[1:] for i in s.groups} - first)


def whole_before_serving(timeline: GroupTimeline) -> dict[int, float]:
    """Scaling created at least one group, and no sample shows a group with missing or not running
    members whose leader is a ready endpoint of the Service; returns the partial-group seconds per
    group index."""
    check_sampled(timeline)
    if len(timeline.samples) < 2:
        raise CheckFailed(f"LWS {timeline.lws}: {len(timeline.samples)} samples, cannot judge the groups")
    if not created_groups(timeline):
        before = sorted(timeline.samples[0].groups)
        raise CheckFailed(
            f"LWS {timeline.lws}: no group was created during the {len(timeline.samples)} samples (groups "
            f"{before} throughout, replicas {timeline.samples[-1].replicas}): nothing scaled, so no group "
            "created by scaling could be judged"
        )
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
    # The leader serves only once its ring formed, but a worker's Ready condition can lag its joining
    # by a probe period: judge the group over a bounded window, not one instant's probe.
    whole: list[groups.Group] = []

    def whole_serving() -> tuple[bool, str]:
        s = groups.sample(kube, svc.namespace, svc.lws, svc.service)
        whole[:] = [g for g in s.groups.values() if g.whole(svc.size) and g.serving]
        seen = "; ".join(g.describe(svc.size) for g in s.groups.values()) or "no pods"
        return len(whole) == 1 and len(s.groups) == 1, f"LWS replicas {s.replicas}: {seen}"

    try:
        wait_until(whole_serving, WHOLE_AFTER_ANSWER, "the group that answered is whole and serving", interval=1)
    except WaitTimeout as e:
        raise CheckFailed(f"answered, yet no single whole group serves: {e}") from None
    leader = kube.core.read_namespaced_pod(f"{svc.lws}-{whole[0].index}", svc.namespace)
    ready = condition(leader, "Ready")
    return first, ready.last_transition.timestamp() - sent


def buffer_placed(placeholders: list[str], nodes: list[str]) -> None:
    """The capacity buffer holds capacity: at least one placeholder runs (a worker with no free CPU
    beyond what the groups need gets none). Without one, a scale-up has nothing to preempt."""
    if not placeholders:
        raise CheckFailed(f"no placeholder of the capacity buffer could be placed on {nodes}: nothing to preempt")


def buffer_preempted(kube: Clients, namespace: str, placeholders: list[str]) -> list[str]:
    """The scheduler preempted placeholders of the capacity buffer to place the new groups;
    returns the preempted ones."""
    gone = buffer.preempted(kube, namespace, placeholders)
    if not gone:
        raise CheckFailed(
            f"no placeholder of the capacity buffer was preempted: {placeholders} all still hold their CPU"
        )
    return gone
