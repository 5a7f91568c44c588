"""Smoke: the testbed itself works — nodes, pods on every worker, the pod network, DNS, NodePort on 127.0.0.1."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from kubernetes import client

from harness.cluster.testbed import TestbedCluster
from harness.kube.client import Clients
from harness.kube.namespaces import scratch_namespace
from harness.kube.objects import service, web_pod
from harness.kube.pods import run_in, wait_ready
from harness.kube.waits import wait_until

pytestmark = pytest.mark.smoke

WEB_PORT = 8080


@dataclass
class WebPods:
    namespace: str
    by_node: dict[str, str]  # node name -> pod name
    ready_seconds: float


@pytest.fixture(scope="module")
def web(kube: Clients, testbed: TestbedCluster) -> Iterator[WebPods]:
    """One busybox web server per worker, each answering with its node's name."""
    with scratch_namespace(kube.core, "smoke") as ns:
        by_node = {}
        for i, node in enumerate(testbed.spec.workers):
            pod = web_pod(f"web-{i}", node.name, WEB_PORT)
            kube.core.create_namespaced_pod(ns, pod)
            by_node[node.name] = pod["metadata"]["name"]
        seconds = wait_ready(kube.core, ns, list(by_node.values()), timeout=180)
        yield WebPods(ns, by_node, seconds)


def test_nodes_ready_with_spec_labels(kube: Clients, testbed: TestbedCluster) -> None:
    nodes = {n.metadata.name: n for n in kube.core.list_node().items}
    assert sorted(nodes) == sorted(n.name for n in testbed.spec.nodes), "the cluster's nodes are the spec's"
    for expected in testbed.spec.nodes:
        node = nodes[expected.name]
        ready = next(c for c in node.status.conditions if c.type == "Ready")
        assert ready.status == "True", f"{expected.name} not Ready: {ready.reason} {ready.message}"
        labels = node.metadata.labels or {}
        wrong = {k: (labels.get(k), v) for k, v in expected.all_labels().items() if labels.get(k) != v}
        assert not wrong, f"{expected.name}: labels (found, expected) differ: {wrong}"


def test_pod_runs_on_every_worker(kube: Clients, web: WebPods) -> None:
    pods = {p.metadata.name: p for p in kube.core.list_namespaced_pod(web.namespace).items}
    placed = {node: pods[name].spec.node_name for node, name in web.by_node.items()}
    assert all(node == actual for node, actual in placed.items()), f"pods landed elsewhere: {placed}"
    assert all(pods[name].status.phase == "Running" for name in web.by_node.values())


def _pod_ips(kube: Clients, web: WebPods) -> dict[str, str]:
    pods = {p.metadata.name: p for p in kube.core.list_namespaced_pod(web.namespace).items}
    return {node: pods[name].status.pod_ip for node, name in web.by_node.items()}


def test_pod_to_pod_traffic_across_nodes(kube: Clients, web: WebPods) -> None:
    """From the first worker's pod, every other worker's pod answers over the pod network."""
    ips = _pod_ips(kube, web)
    source_node, source_pod = next(iter(web.by_node.items()))
    answers = {}
    for node, ip in ips.items():
        if node == source_node:
            continue
        code, out = run_in(kube.core, web.namespace, source_pod, ["wget", "-q", "-T", "5", "-O", "-", f"http://{ip}:{WEB_PORT}/"])
        answers[node] = (code, out.strip())
    failed = {node: a for node, a in answers.items() if a != (0, node)}
    assert not failed, f"from {source_node}: (exit code, answer) per target node that failed: {failed}"


def test_cluster_dns_resolves_a_service(kube: Clients, web: WebPods) -> None:
    target_node, target_pod = list(web.by_node.items())[-1]
    kube.core.create_namespaced_service(web.namespace, service("web-last", {"node": target_node}, WEB_PORT))
    source_pod = next(iter(web.by_node.values()))
    fqdn = f"web-last.{web.namespace}.svc.cluster.local"

    def answers() -> tuple[bool, str]:
        code, out = run_in(kube.core, web.namespace, source_pod,
                           ["wget", "-q", "-T", "5", "-O", "-", f"http://{fqdn}:{WEB_PORT}/"])
        return (code == 0 and out.strip() == target_node), f"exit {code}: {out.strip()[:200]}"

    # Endpoints and DNS records follow the Service within seconds; bounded, with what was seen.
    wait_until(answers, 60, f"{fqdn} answering with {target_node}", interval=2)
    code, out = run_in(kube.core, web.namespace, source_pod, ["nslookup", fqdn])
    assert code == 0 and "Address" in out, f"nslookup {fqdn}: exit {code}: {out}"


def test_nodeport_answers_on_localhost(kube: Clients, web: WebPods, testbed: TestbedCluster) -> None:
    assert testbed.spec.ports, "the spec maps no NodePort to 127.0.0.1 (add `ports:`)"
    mapping = testbed.spec.ports[0]
    kube.core.create_namespaced_service(
        web.namespace, service("web-nodeport", {"app": "web"}, WEB_PORT, node_port=mapping.node_port)
    )
    url = f"http://127.0.0.1:{mapping.host_port}/"

    def answers() -> tuple[bool, str]:
        with urllib.request.urlopen(url, timeout=3) as r:
            body = r.read().decode().strip()
            return (r.status == 200 and body in web.by_node), f"HTTP {r.status}: {body[:100]}"

    wait_until(answers, 60, f"{url} answering with a worker's name", interval=1)


def test_kube_system_is_healthy(kube: Clients) -> None:
    pods: list[client.V1Pod] = kube.core.list_namespaced_pod("kube-system").items
    bad = [f"{p.metadata.name}: {p.status.phase}" for p in pods if p.status.phase != "Running"]
    assert not bad, f"kube-system pods not running: {bad}"
    names = sorted(p.metadata.name for p in pods)
    for component in ("etcd-", "kube-apiserver-", "kube-proxy-", "coredns-"):
        assert any(n.startswith(component) for n in names), f"no {component}* pod among {names}"
