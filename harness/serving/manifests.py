"""Builders for the mock vLLM workloads suites deploy: a LeaderWorkerSet of groups, a Deployment of
single-host engines, the Services in front of them, and a hand-made group (pods with LWS's env) for
clusters without the LWS controller.

The drain knobs the upgrade suite turns are explicit: readiness probe, preStop sleep,
terminationGracePeriodSeconds and the engine's --shutdown-timeout.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from harness.kube.labels import HOSTNAME_LABEL, LWS_API, LWS_EXCLUSIVE_TOPOLOGY, LWS_NAME_LABEL, LWS_WORKER_INDEX_LABEL
from harness.kube.objects import Object
from harness.serving.images import mock_vllm_image

PORT = 8000
# Hand-made groups carry their own labels: LWS's webhook rejects pods with its labels that it did not make.
GROUP_SET_LABEL = "llm-conformance.io/group-set"
GROUP_LABEL = "llm-conformance.io/group-index"
WORKER_LABEL = "llm-conformance.io/worker-index"


@dataclass(frozen=True)
class Probe:
    period_seconds: int = 2
    failure_threshold: int = 1  # one failed /health takes the pod out of its Services: drains start at once
    initial_delay_seconds: int = 0

    def obj(self) -> Object:
        return {
            "httpGet": {"path": "/health", "port": PORT},
            "periodSeconds": self.period_seconds,
            "failureThreshold": self.failure_threshold,
            "initialDelaySeconds": self.initial_delay_seconds,
            "timeoutSeconds": 1,
        }


@dataclass(frozen=True)
class Engine:
    """What the mock vLLM container runs with, and how its pod is drained."""

    model: str = "mock-model"
    time_to_first_token_ms: float = 50
    inter_token_latency_ms: float = 20
    max_num_seqs: int = 32
    max_waiting_queue_length: int = 256
    shutdown_timeout_seconds: int = 30
    termination_grace_period_seconds: int = 40  # must cover preStop + shutdown timeout
    pre_stop_sleep_seconds: int = 0  # 0: no preStop hook
    readiness: Probe | None = field(default_factory=Probe)
    extra_args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    resources: Object = field(default_factory=lambda: {"requests": {"cpu": "10m", "memory": "48Mi"}})
    resource_claims: tuple[
        Object, ...
    ] = ()  # pod-level claims (DRA), e.g. {"name": "gpu", "resourceClaimTemplateName": ...}
    image: str = ""  # default: the pinned mock vLLM image

    def args(self) -> list[str]:
        return [
            f"--port={PORT}",
            f"--model={self.model}",
            f"--time-to-first-token={self.time_to_first_token_ms:g}",
            f"--inter-token-latency={self.inter_token_latency_ms:g}",
            f"--max-num-seqs={self.max_num_seqs}",
            f"--max-waiting-queue-length={self.max_waiting_queue_length}",
            f"--shutdown-timeout={self.shutdown_timeout_seconds}",
            *self.extra_args,
        ]


def container(engine: Engine, env: dict[str, str] | None = None) -> Object:
    c: Object = {
        "name": "mock-vllm",
        "image": engine.image or mock_vllm_image(),
        "imagePullPolicy": "IfNotPresent",
        "args": engine.args(),
        # The node the member runs on; the fake GPU driver adds LLMC_GPUS, LLMC_RACK, ... through CDI.
        "env": [{"name": "LLMC_NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]
        + [{"name": k, "value": v} for k, v in {**engine.env, **(env or {})}.items()],
        "ports": [{"name": "http", "containerPort": PORT}],
        "resources": copy.deepcopy(engine.resources),
    }
    if engine.readiness is not None:
        c["readinessProbe"] = engine.readiness.obj()
    if engine.pre_stop_sleep_seconds:
        c["lifecycle"] = {"preStop": {"sleep": {"seconds": engine.pre_stop_sleep_seconds}}}
    if engine.resource_claims:
        c["resources"]["claims"] = [{"name": claim["name"]} for claim in engine.resource_claims]
    return c


def pod_spec(engine: Engine, env: dict[str, str] | None = None) -> Object:
    spec: Object = {
        "terminationGracePeriodSeconds": engine.termination_grace_period_seconds,
        "containers": [container(engine, env)],
    }
    if engine.resource_claims:
        spec["resourceClaims"] = [dict(claim) for claim in engine.resource_claims]
    return spec


def mock_vllm_lws(
    name: str,
    size: int,
    replicas: int = 1,
    engine: Engine | None = None,
    restart_policy: str = "RecreateGroupOnPodRestart",
    startup_policy: str = "LeaderCreated",
    exclusive_topology: str | None = None,
) -> Object:
    """A LeaderWorkerSet of `replicas` groups of `size` mock vLLM members; LWS sets LWS_* itself."""
    engine = engine or Engine()
    if size < 1 or replicas < 0:
        raise ValueError(f"mock_vllm_lws {name}: size must be ≥ 1 and replicas ≥ 0 (got {size}, {replicas})")
    labels = {"app": name}
    template: Object = {"metadata": {"labels": labels}, "spec": pod_spec(engine)}
    lws: Object = {
        "apiVersion": LWS_API,
        "kind": "LeaderWorkerSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "startupPolicy": startup_policy,
            "leaderWorkerTemplate": {
                "size": size,
                "restartPolicy": restart_policy,
                "leaderTemplate": copy.deepcopy(template),
                "workerTemplate": copy.deepcopy(template),
            },
        },
    }
    if exclusive_topology:
        lws["metadata"]["annotations"] = {LWS_EXCLUSIVE_TOPOLOGY: exclusive_topology}
    return lws


def mock_vllm_deployment(name: str, replicas: int = 1, engine: Engine | None = None) -> Object:
    """Single-host engines (no group): the plain-Deployment baseline."""
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": pod_spec(engine or Engine())},
        },
    }


def lws_leaders(lws: str) -> dict[str, str]:
    return {LWS_NAME_LABEL: lws, LWS_WORKER_INDEX_LABEL: "0"}


def hand_made_leaders(name: str) -> dict[str, str]:
    return {GROUP_SET_LABEL: name, WORKER_LABEL: "0"}


def leader_service(name: str, leaders: dict[str, str], node_port: int | None = None) -> Object:
    """The API in front of every group's leader (workers do not serve it): `leaders` is lws_leaders()
    or hand_made_leaders()."""
    spec: Object = {
        "selector": dict(leaders),
        "ports": [{"name": "http", "port": PORT, "targetPort": PORT}],
    }
    if node_port is not None:
        spec["type"] = "NodePort"
        spec["ports"][0]["nodePort"] = node_port
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def hand_made_group(
    name: str,
    group: int,
    size: int,
    namespace: str,
    engine: Engine | None = None,
    nodes: list[str] | None = None,
    member_env: list[dict[str, str]] | None = None,
) -> list[Object]:
    """One group as LWS would make it, without the controller: the leader pod `<name>-<group>`,
    workers `<name>-<group>-<i>`, group/worker index labels and LWS_* env, and the headless Service `<name>` that
    makes the leader's address resolve (publishing not-ready pods, as LWS's does, so workers can join
    a leader that is not ready yet). `nodes[i]` pins member i to a node; `member_env[i]` adds to its
    env (e.g. what the fake GPU driver will inject, set by hand)."""
    engine = engine or Engine()
    leader = f"{name}-{group}"
    objects: list[Object] = [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name},
            "spec": {
                "clusterIP": "None",
                "publishNotReadyAddresses": True,
                "selector": {GROUP_SET_LABEL: name},
                "ports": [{"name": "http", "port": PORT}],
            },
        }
    ]
    for index in range(size):
        env = {
            "LWS_LEADER_ADDRESS": f"{leader}.{name}.{namespace}",
            "LWS_GROUP_SIZE": str(size),
            "LWS_WORKER_INDEX": str(index),
            **(member_env[index] if member_env else {}),
        }
        pod_name = leader if index == 0 else f"{leader}-{index}"
        spec = pod_spec(engine, env)
        spec.update({"hostname": pod_name, "subdomain": name})
        if nodes:
            spec["nodeSelector"] = {HOSTNAME_LABEL: nodes[index % len(nodes)]}
        labels = {GROUP_SET_LABEL: name, GROUP_LABEL: str(group), WORKER_LABEL: str(index)}
        objects.append(
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod_name, "labels": labels}, "spec": spec}
        )
    return objects
