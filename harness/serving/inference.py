"""An inference service as the scaling and upgrade suites deploy it: a LeaderWorkerSet of mock vLLM
groups, scraped by Prometheus, behind a NodePort Service to its leaders, optionally scaled by KEDA.

The builders in harness.serving.manifests make the objects; this module adds what these suites
turn: scrape annotations, the rollout strategy, KEDA's ScaledObject on the LWS's scale subresource,
and workers that outlive their leader's drain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubernetes import client

from harness.builders import core as builders
from harness.builders.lws import LeaderWorkerSet
from harness.kube import drain
from harness.kube.client import Clients
from harness.kube.labels import (
    KEDA_API,
    LWS_API,
    LWS_GROUP_INDEX_LABEL,
    SCRAPE_ANNOTATION,
    SCRAPE_PORT_ANNOTATION,
)
from harness.kube.objects import Object, create
from harness.kube.waits import wait_until
from harness.serving import groups
from harness.serving.images import mock_vllm_image
from harness.serving.manifests import PORT, Engine, leader_service, lws_leaders, mock_vllm_lws

WAITING = "vllm:num_requests_waiting"
GATEWAY_HELD = "llmc:gateway_requests_held"


@dataclass(frozen=True)
class Service:
    namespace: str
    lws: str
    service: str
    size: int

    def observe(self, kube: Clients, interval: float = 0.5) -> Any:
        return groups.observe(kube, self.namespace, self.lws, self.service, self.size, interval)


def inference_lws(
    name: str,
    size: int,
    replicas: int,
    engine: Engine,
    worker_pre_stop_seconds: int = 0,
    max_unavailable: int | None = None,
    max_surge: int | None = None,
    spread_members: bool = False,
    node_per_group: bool = False,
) -> Object:
    """mock_vllm_lws scraped by Prometheus, with the LeaderWorkerSet builder's knobs the scaling and
    upgrade suites turn: a rollout strategy, a longer preStop on workers, members spread over nodes,
    a node per group."""
    lws = LeaderWorkerSet(mock_vllm_lws(name, size=size, replicas=replicas, engine=engine)).scraped(PORT)
    if spread_members:
        lws.spread_members()
    if node_per_group:
        lws.node_per_group()
    if worker_pre_stop_seconds:
        lws.worker_pre_stop(worker_pre_stop_seconds)
    if max_unavailable is not None or max_surge is not None:
        lws.rollout(max_unavailable, max_surge)
    return lws.obj()


def deploy(kube: Clients, namespace: str, lws: Object, node_port: int | None) -> Service:
    """The LWS and a Service to its leaders (a NodePort one when `node_port` is given: the testbed
    maps one NodePort to the host, so only one such Service can exist at a time)."""
    name = lws["metadata"]["name"]
    create(kube, lws, namespace)
    create(kube, leader_service(f"{name}-api", lws_leaders(name), node_port), namespace)
    return Service(namespace, name, f"{name}-api", lws["spec"]["leaderWorkerTemplate"]["size"])


def waiting_query(namespace: str) -> str:
    return f'sum({WAITING}{{namespace="{namespace}"}})'


def waiting_or_held_query(namespace: str) -> str:
    """Requests waiting in engines plus those the gateway holds: with zero engines only the second
    exists (`or vector(0)`: a sum over no series is empty, and empty + x is empty)."""
    held = f'sum({GATEWAY_HELD}{{namespace="{namespace}"}})'
    return f"({waiting_query(namespace)} or vector(0)) + ({held} or vector(0))"


def gateway(name: str, upstream: str, node_port: int, hold_seconds: float) -> list[Object]:
    """The request-holding gateway (mock_vllm.gateway, from the mock vLLM image) in front of the
    Service `upstream`, scraped by Prometheus, behind a NodePort Service: the front door a service
    that scales from zero needs (with zero engines the engines' own Service refuses the request)."""
    labels = {"app": name}
    args = [f"--upstream=http://{upstream}:{PORT}", f"--port={PORT}", f"--hold-timeout={hold_seconds:g}"]
    container: Object = {
        "name": "gateway",
        "image": mock_vllm_image(),
        "imagePullPolicy": "IfNotPresent",
        "command": ["python3", "-m", "mock_vllm.gateway"],
        "args": args,
        "ports": [{"name": "http", "containerPort": PORT}],
        "readinessProbe": {"httpGet": {"path": "/health", "port": PORT}, "periodSeconds": 1},
        "resources": {"requests": {"cpu": "50m", "memory": "48Mi"}},
    }
    annotations = {SCRAPE_ANNOTATION: "true", SCRAPE_PORT_ANNOTATION: str(PORT)}
    deployment: Object = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels, "annotations": annotations},
                "spec": {"containers": [container], "terminationGracePeriodSeconds": 5},
            },
        },
    }
    return [deployment, leader_service(name, labels, node_port)]


def scaled_object(svc: Service, threshold: float, min_groups: int, max_groups: int, query: str | None = None) -> Object:
    """KEDA scales the LWS (its scale subresource counts groups) on requests waiting across leaders
    (or on `query`)."""
    query = query or waiting_query(svc.namespace)
    so = builders.scaled_object(svc.lws, svc.lws, query, threshold, min_groups, max_groups)
    so["spec"]["scaleTargetRef"] = {"apiVersion": LWS_API, "kind": "LeaderWorkerSet", "name": svc.lws}
    return so


def patch_scaled_object(kube: Clients, svc: Service, patch: Object) -> None:
    group, version = KEDA_API.split("/")
    client.CustomObjectsApi(kube.api).patch_namespaced_custom_object(
        group, version, svc.namespace, "scaledobjects", svc.lws, patch
    )


def replicas(kube: Clients, svc: Service) -> int:
    group, version = LWS_API.split("/")
    obj: Any = client.CustomObjectsApi(kube.api).get_namespaced_custom_object(
        group, version, svc.namespace, "leaderworkersets", svc.lws
    )
    return int(obj["spec"].get("replicas", 0))


def patch_lws(kube: Clients, svc: Service, patch: Object) -> None:
    group, version = LWS_API.split("/")
    client.CustomObjectsApi(kube.api).patch_namespaced_custom_object(
        group, version, svc.namespace, "leaderworkersets", svc.lws, patch
    )


def wait_whole(kube: Clients, svc: Service, count: int, timeout: float = 240) -> float:
    """`count` groups are whole (every member Ready) and serving; raises WaitTimeout with what it saw."""

    def whole() -> tuple[bool, str]:
        s = groups.sample(kube, svc.namespace, svc.lws, svc.service)
        done = sum(g.whole(svc.size) and g.serving for g in s.groups.values())
        seen = "; ".join(g.describe(svc.size) for g in s.groups.values()) or "no pods"
        return done == count and len(s.groups) == count, f"{done}/{count} whole and serving: {seen}"

    return wait_until(whole, timeout, f"LWS {svc.namespace}/{svc.lws}: {count} whole groups serving", interval=1)


def revision(kube: Clients, svc: Service) -> str:
    """The template revision every member of every group runs (raises if they differ)."""
    s = groups.sample(kube, svc.namespace, svc.lws, svc.service)
    revisions = {r for g in s.groups.values() for r in g.revisions}
    if len(revisions) != 1:
        raise RuntimeError(f"LWS {svc.lws}: members run revisions {sorted(revisions)}")
    return revisions.pop()


def wait_rolled(kube: Clients, svc: Service, count: int, old: str, timeout: float = 300) -> str:
    """`count` whole groups serving, all on one revision other than `old`; returns it."""

    def rolled() -> tuple[bool, str]:
        s = groups.sample(kube, svc.namespace, svc.lws, svc.service)
        revisions = {r for g in s.groups.values() for r in g.revisions}
        whole = sum(g.whole(svc.size) and g.serving for g in s.groups.values())
        done = whole == count == len(s.groups) and len(revisions) == 1 and old not in revisions
        return done, f"{whole}/{count} whole, revisions {sorted(revisions)} (old {old})"

    wait_until(rolled, timeout, f"LWS {svc.lws} rolled to a new revision", interval=1)
    return revision(kube, svc)


def groups_on(kube: Clients, svc: Service) -> dict[str, set[int]]:
    """Node name -> the groups with a member on it."""
    s = groups.sample(kube, svc.namespace, svc.lws, svc.service)
    out: dict[str, set[int]] = {}
    for g in s.groups.values():
        for m in g.members:
            out.setdefault(m.node, set()).add(g.index)
    return out


def drain_group_by_group(kube: Clients, svc: Service, node: str, count: int, timeout: float = 300) -> list[int]:
    """A group-aware drain of the (cordoned) node: evict the members of one group, wait until that
    group is whole again elsewhere, then the next; returns the groups in the order drained."""
    order = sorted(groups_on(kube, svc).get(node, set()))
    for index in order:
        members = {
            p.metadata.name: p.metadata.uid
            for p in drain.pods_on(kube.core, svc.namespace, node, f"{LWS_GROUP_INDEX_LABEL}={index}")
        }
        for name in members:
            drain.evict(kube.core, svc.namespace, name, timeout=timeout)
        drain.wait_gone(kube.core, svc.namespace, members, timeout=timeout)
        wait_whole(kube, svc, count, timeout=timeout)
    return order
