"""The upgrade suite's set-ups (suites/test_upgrade.py), shared with its negative controls
(tests/cluster/test_upgrade_negative.py): LWS groups of mock vLLM under load through the testbed's
NodePort, drained, rolled or drained group by group. Each control calls the same set-up with one
parameter changed.

The graceful setup: a preStop pause on the leader (its endpoint leaves the Service before the engine
is told to stop), the engine's drain (--shutdown-timeout finishes in-flight streams), a
terminationGracePeriodSeconds covering both, and workers whose preStop outlives their leader's drain
(a worker that leaves breaks the ring and cuts the leader's streams).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from harness import timeouts
from harness.checks import NotApplicable
from harness.cluster.testbed import TestbedCluster
from harness.kube.client import Clients
from harness.kube.labels import LWS_NAME_LABEL
from harness.kube.waits import wait_until
from harness.load import LoadSpec
from harness.serving import inference
from harness.serving.inference import Service
from harness.serving.manifests import Engine

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
# The drain control's one change: no preStop on leader or workers, Kubernetes' default grace period.
NO_PRE_STOP = dataclasses.replace(GRACEFUL, pre_stop_sleep_seconds=0, termination_grace_period_seconds=30)
# Each user keeps one connection, balanced to a leader at random: with 12 users the chance that none
# is on the drained group's leader is (2/3)**12 < 1 % with three groups.
DRAIN_USERS = 12
# Streams last 2.5 s: a stream cut with the pod's network (no reset reaches the client) is recorded
# failed after this long instead of holding the load's end for the default 120 s.
DRAIN_REQUEST_TIMEOUT = 30


def load_spec(
    testbed: TestbedCluster, duration: float, tokens: int = STREAM_TOKENS, users: int = 4, request_timeout: float = 120
) -> LoadSpec:
    return LoadSpec(
        target=testbed.endpoint().url,
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

    wait_until(flowing, timeouts.REACTION, f"{requests} requests through the load", interval=0.5)


def serving_groups(testbed: TestbedCluster) -> int:
    """Groups that leave room on the other workers when one is cordoned."""
    workers = len(testbed.spec.workers)
    if workers < 3:
        raise NotApplicable(f"{workers} workers: a drain needs a group elsewhere and room for the evicted one")
    return workers - 1


def drained_groups(kube: Clients, testbed: TestbedCluster, namespace: str, pre_stop: bool = True) -> Service:
    """One group per node but one, no node hosting two groups, all whole behind the testbed's
    NodePort; `pre_stop=False` (the drain control) leaves out every preStop and the long grace period."""
    count = serving_groups(testbed)
    engine, worker_pre_stop = (GRACEFUL, WORKER_PRE_STOP) if pre_stop else (NO_PRE_STOP, 0)
    lws = inference.inference_lws(
        "infer", SIZE, count, engine, worker_pre_stop_seconds=worker_pre_stop, node_per_group=True
    )
    svc = inference.deploy(kube, namespace, lws, testbed.endpoint().node_port)
    inference.wait_whole(kube, svc, count)
    return svc


def rolling_groups(
    kube: Clients, testbed: TestbedCluster, namespace: str, max_unavailable: int = 1, max_surge: int = 1
) -> tuple[Service, dict[str, Any]]:
    """Groups with a RollingUpdate strategy, whole and serving; the service and the LWS object."""
    count = serving_groups(testbed)
    lws = inference.inference_lws(
        "infer",
        SIZE,
        count,
        GRACEFUL,
        worker_pre_stop_seconds=WORKER_PRE_STOP,
        max_unavailable=max_unavailable,
        max_surge=max_surge,
    )
    svc = inference.deploy(kube, namespace, lws, testbed.endpoint().node_port)
    inference.wait_whole(kube, svc, count)
    return svc, lws


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
        raise NotApplicable(f"{count} workers: a node must host two groups and the rest must hold them after the drain")
    lws = inference.inference_lws(
        "infer", SIZE, count, GRACEFUL, worker_pre_stop_seconds=WORKER_PRE_STOP, spread_members=True
    )
    svc = inference.deploy(kube, namespace, lws, testbed.endpoint().node_port)
    inference.wait_whole(kube, svc, count)
    hosts = inference.groups_on(kube, svc)
    node = max(hosts, key=lambda n: (len(hosts[n]), n))
    if len(hosts[node]) < 2:
        raise RuntimeError(f"no node hosts members of two groups: {hosts}")
    return svc, node


def pod_budget(svc: Service, max_unavailable: int = SIZE) -> dict[str, Any]:
    """A PodDisruptionBudget over every member of the LWS: it counts pods, not groups. The default
    allows one group's worth of pods (the budget gap's check); its control allows one pod."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": f"{svc.lws}-pods"},
        "spec": {"maxUnavailable": max_unavailable, "selector": {"matchLabels": {LWS_NAME_LABEL: svc.lws}}},
    }
