"""Upgrade checks: a node hosting a group can be drained, and an LWS rolled, under load without
losing requests and without breaking more groups than allowed. Each raises CheckFailed with the
evidence, or returns its figures.

suites/test_upgrade.py runs them; tests/cluster/test_upgrade_negative.py runs each where its claim
is false (a short grace period and no preStop; maxUnavailable as large as the LWS; a drain that a
pod-level PodDisruptionBudget lets break two groups at once) and expects CheckFailed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.checks import CheckFailed
from harness.cluster.testbed import TestbedCluster
from harness.kube.client import Clients
from harness.kube.waits import wait_until
from harness.load import LoadSpec
from harness.load.results import LoadResult, read_records
from harness.workloads import inference
from harness.workloads.groups import GroupTimeline
from harness.workloads.inference import Service
from harness.workloads.manifests import LWS_NAME_LABEL, Engine

# The server closed a kept-alive connection before answering the request sent on it: the engine never
# saw the request. HTTP clients retry this (the OpenAI SDK does by default); see no_request_lost.
UNANSWERED = "Remote end closed connection without response"


@dataclass(frozen=True)
class Losses:
    lost: int  # requests cut or refused: an error response, a broken stream, a refused connection
    unanswered: int  # requests on a keep-alive connection the server closed before answering


def no_request_lost(result: LoadResult, out: Path, what: str) -> Losses:
    """Every request of the load succeeded, and it carried traffic through the event; except those
    sent on a kept-alive connection the draining server had just closed (no response byte, nothing
    processed), which are counted apart: a Service balances connections, not requests, so a client
    of a draining pod meets them unless it retries, as OpenAI clients do."""
    if result.requests == 0 or result.succeeded == 0:
        raise CheckFailed(f"{what}: the load made {result.requests} requests, {result.succeeded} succeeded: no traffic")
    counted = losses(out)
    if counted.lost:
        seconds = [s.second for s in result.timeline if s.failed]
        marks = ", ".join(f"{m.label} at {m.second:.0f} s" for m in result.marks)
        raise CheckFailed(
            f"{what}: {counted.lost} of {result.requests} requests failed ({result.failures}) in seconds "
            f"{seconds[:10]}{' ...' if len(seconds) > 10 else ''} of the load; events: {marks}"
        )
    return counted


def losses(out: Path) -> Losses:
    """The failed requests of the load written to `out`, lost or unanswered."""
    failed = [r for r in read_records(out / "requests.jsonl") if not r["ok"]]
    unanswered = sum(1 for r in failed if UNANSWERED in r["error"] and not r["tokens"])
    return Losses(len(failed) - unanswered, unanswered)


def _at(timeline: GroupTimeline, at: float) -> str:
    return f"t={at - timeline.samples[0].at:.1f}s"


def groups_broken_at_most(timeline: GroupTimeline, allowed: int, replicas: int, what: str) -> int:
    """At no sample were the whole groups more than `allowed` short of `replicas`; returns the most
    seen at once."""
    if len(timeline.samples) < 2:
        raise CheckFailed(f"{what}: {len(timeline.samples)} samples of the groups, cannot judge")
    unavailable = timeline.unavailable(replicas)
    worst_at, worst = max(unavailable, key=lambda p: p[1])
    if worst > allowed:
        sample = next(s for s in timeline.samples if s.at == worst_at)
        indexes = sorted(set(range(replicas)) | set(sample.groups))
        groups = "; ".join(
            sample.groups[i].describe(timeline.size) if i in sample.groups else f"group {i}: no pods" for i in indexes
        )
        raise CheckFailed(
            f"{what}: {worst} of {replicas} groups unavailable at once at {_at(timeline, worst_at)}, "
            f"allowed {allowed}: {groups}"
        )
    return worst


@dataclass(frozen=True)
class Rollout:
    most_unavailable: int  # groups not whole at once, among the LWS's replicas
    most_groups: int  # groups existing at once (replicas plus surge)
    no_endpoint_seconds: float  # seconds no leader was a ready endpoint
    transient_mixed_samples: int  # samples where a group being replaced had unready members of two revisions


def rolled_by_whole_groups(
    timeline: GroupTimeline, replicas: int, max_unavailable: int, max_surge: int, new_revision: str
) -> Rollout:
    """The rollout ended with every group on `new_revision`; no group ever had Ready members of
    different revisions; at most `max_unavailable` groups were down and at most `replicas + max_surge`
    groups existed at once; some leader was a ready endpoint throughout."""
    what = f"rolling update of LWS {timeline.lws}"
    if not timeline.samples:
        raise CheckFailed(f"{what}: no samples of the groups")
    mixed = timeline.mixed_revisions(ready_only=True)
    if mixed:
        shown = "\n  ".join(mixed[:5])
        raise CheckFailed(f"{what}: members of one group ran different template revisions:\n  {shown}")
    last = timeline.samples[-1]
    stale = [g.describe(timeline.size) for g in last.groups.values() if g.revisions != {new_revision}]
    if stale:
        raise CheckFailed(f"{what}: not every group reached revision {new_revision} at the end: {stale}")
    worst = groups_broken_at_most(timeline, max_unavailable, replicas, what)
    most = max(len(s.groups) for s in timeline.samples)
    if most > replicas + max_surge:
        raise CheckFailed(f"{what}: {most} groups existed at once, more than {replicas} + maxSurge {max_surge}")
    dark = timeline.no_endpoint_seconds()
    if dark > 0:
        raise CheckFailed(f"{what}: no group served (no ready leader endpoint) for {dark:.1f} s during the rollout")
    return Rollout(worst, most, dark, len(timeline.mixed_revisions(ready_only=False)))


# --- set-ups the checks run on ----------------------------------------------------------------------------

SIZE = 2
PRE_STOP = 5  # s: covers the readiness probe period and kube-proxy catching up
STREAM_TOKENS, ITL_MS = 50, 50  # 2.5 s streams
GRACEFUL = Engine(
    inter_token_latency_ms=ITL_MS,
    pre_stop_sleep_seconds=PRE_STOP,
    shutdown_timeout_seconds=10,
    termination_grace_period_seconds=PRE_STOP + 10 + 5,
)
WORKER_PRE_STOP = PRE_STOP + 10  # outlives the leader's preStop and drain


def load_spec(
    testbed: TestbedCluster, duration: float, tokens: int = STREAM_TOKENS, users: int = 4, request_timeout: float = 120
) -> LoadSpec:
    return LoadSpec(
        target=f"http://127.0.0.1:{testbed.spec.ports[0].host_port}",
        users=users,
        spawn_rate=users,
        duration=duration,
        max_requests=5000,
        max_tokens=tokens,
        request_timeout=request_timeout,
    )


def wait_traffic(out: Path, requests: int = 10) -> None:
    """The load has finished some requests: the disruption comes after traffic is established."""

    def flowing() -> tuple[bool, str]:
        done = (out / "requests.jsonl").read_text().count("\n") if (out / "requests.jsonl").exists() else 0
        return done >= requests, f"{done} requests finished"

    wait_until(flowing, 60, f"{requests} requests through the load", interval=0.5)


def serving_groups(testbed: TestbedCluster) -> int:
    """Groups that leave room on the other workers when one is cordoned."""
    workers = len(testbed.spec.workers)
    if workers < 3:
        pytest.skip(f"{workers} workers: a drain needs a group elsewhere and room for the evicted one")
    return workers - 1


def lightest_node(kube: Clients, svc: Service) -> str:
    """A node hosting members of the fewest groups (at least one): with `node_per_group`, exactly one."""
    hosts = inference.groups_on(kube, svc)
    return min(hosts, key=lambda n: (len(hosts[n]), n))


def new_template_env(name: str, value: str, lws: dict[str, Any]) -> dict[str, Any]:
    """A patch changing both templates (a new revision): an added environment variable."""
    template = lws["spec"]["leaderWorkerTemplate"]
    patch: dict[str, Any] = {"spec": {"leaderWorkerTemplate": {}}}
    for key in ("leaderTemplate", "workerTemplate"):
        spec = template[key]["spec"]
        container = dict(spec["containers"][0])
        container["env"] = [*container["env"], {"name": name, "value": value}]
        patch["spec"]["leaderWorkerTemplate"][key] = {"spec": {**spec, "containers": [container]}}
    return patch


def spread_groups(kube: Clients, testbed: TestbedCluster, namespace: str) -> tuple[Service, str]:
    """One group per worker, each group's members on different nodes, so some node hosts members of
    several groups; returns the Service and that node."""
    count = len(testbed.spec.workers)
    if count < 3:
        pytest.skip(f"{count} workers: a node must host two groups and the rest must hold them after the drain")
    lws = inference.inference_lws(
        "infer", SIZE, count, GRACEFUL, worker_pre_stop_seconds=WORKER_PRE_STOP, spread_members=True
    )
    svc = inference.deploy(kube, namespace, lws, testbed.spec.ports[0].node_port)
    inference.wait_whole(kube, svc, count)
    hosts = inference.groups_on(kube, svc)
    node = max(hosts, key=lambda n: (len(hosts[n]), n))
    assert len(hosts[node]) >= 2, f"no node hosts members of two groups: {hosts}"
    return svc, node


def pod_budget(svc: Service, max_unavailable: int) -> dict[str, Any]:
    """A PodDisruptionBudget over every member of the LWS: it counts pods, not groups."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": f"{svc.lws}-pods"},
        "spec": {"maxUnavailable": max_unavailable, "selector": {"matchLabels": {LWS_NAME_LABEL: svc.lws}}},
    }
