"""Smoke checks: the testbed itself works. Each raises CheckFailed with the evidence, or returns figures.

The suite (suites/test_smoke.py) runs them on the testbed; tests/cluster runs each on a deliberately
broken setup (its negative control) and expects it to fail.
"""

from __future__ import annotations

import http.client
import urllib.request
from dataclasses import dataclass

import websocket

from harness.builders.core import service
from harness.checks import CheckFailed
from harness.kube.client import Clients
from harness.kube.conditions import condition
from harness.kube.objects import create
from harness.kube.pods import run_in
from harness.kube.waits import WaitTimeout, wait_until
from harness.spec import Testbed

WEB_PORT = 8080


@dataclass
class WebPods:
    """One busybox web server per worker, each answering with its node's name."""

    namespace: str
    by_node: dict[str, str]  # node name -> pod name
    ready_seconds: float

    def pod_ips(self, kube: Clients) -> dict[str, str]:
        pods = {p.metadata.name: p for p in kube.core.list_namespaced_pod(self.namespace).items}
        return {node: pods[name].status.pod_ip for node, name in self.by_node.items()}


@dataclass(frozen=True)
class NodeSeen:
    ready: str | None  # the Ready condition's status, None without one
    reason: str | None  # the Ready condition's reason
    labels: dict[str, str]


def nodes_match_spec(kube: Clients, spec: Testbed) -> None:
    """The cluster's nodes are exactly the spec's, all Ready, each with the spec's labels."""
    seen = {}
    for node in kube.core.list_node().items:
        ready = condition(node, "Ready")
        seen[node.metadata.name] = NodeSeen(
            ready.status if ready else None, ready.reason if ready else None, node.metadata.labels or {}
        )
    check_nodes(seen, {n.name: n.all_labels() for n in spec.nodes})


def check_nodes(nodes: dict[str, NodeSeen], expected: dict[str, dict[str, str]]) -> None:
    """The nodes seen (name -> state) are exactly the expected ones (name -> labels it must carry),
    all Ready, each with its labels."""
    if sorted(nodes) != sorted(expected):
        raise CheckFailed(f"nodes {sorted(nodes)} are not the spec's {sorted(expected)}")
    problems = []
    for name, want in expected.items():
        node = nodes[name]
        if node.ready != "True":
            problems.append(f"{name} not Ready: {node.reason if node.ready else 'no condition'}")
        wrong = {k: (node.labels.get(k), v) for k, v in want.items() if node.labels.get(k) != v}
        if wrong:
            problems.append(f"{name} labels (found, expected): {wrong}")
    if problems:
        raise CheckFailed("; ".join(problems))


def pods_on_their_workers(kube: Clients, web: WebPods) -> None:
    nodes = {p.metadata.name: p.spec.node_name for p in kube.core.list_namespaced_pod(web.namespace).items}
    check_pods_on_their_nodes(web.by_node, nodes)


def check_pods_on_their_nodes(by_node: dict[str, str], nodes: dict[str, str | None]) -> None:
    """Each pod (node -> the pod meant for it) runs on its node (`nodes`: pod -> the node it got)."""
    misplaced = {node: nodes.get(pod) for node, pod in by_node.items() if nodes.get(pod) != node}
    if misplaced:
        raise CheckFailed(f"pods landed on other nodes (wanted: got): {misplaced}")


def pod_network_spans_nodes(kube: Clients, web: WebPods, timeout: float = 5) -> None:
    """From the first worker's pod, every other worker's pod answers with its node's name."""
    ips = web.pod_ips(kube)
    source_node, source_pod = next(iter(web.by_node.items()))
    answers = {}
    for node, ip in ips.items():
        if node == source_node:
            continue
        url = f"http://{ip}:{WEB_PORT}/"
        answers[node, ip] = run_in(
            kube.core, web.namespace, source_pod, ["wget", "-q", "-T", str(int(timeout)), "-O", "-", url]
        )
    check_answers(source_node, answers)


def check_answers(source_node: str, answers: dict[tuple[str, str], tuple[int, str]]) -> None:
    """Every pod asked from `source_node`'s pod ((node, ip) -> wget's exit code and output) answered
    with its node's name."""
    failed = {
        f"{node} ({ip})": f"exit {code}: {out.strip()[:120]}"
        for (node, ip), (code, out) in answers.items()
        if (code, out.strip()) != (0, node)
    }
    if failed:
        raise CheckFailed(f"from {source_node}'s pod, these pods did not answer: {failed}")


def service_dns_answers(kube: Clients, web: WebPods, timeout: float = 60) -> float:
    """A Service's cluster DNS name resolves and answers through the Service; returns seconds taken."""
    target_node = list(web.by_node)[-1]
    name = "web-last"
    create(kube, service(name, {"node": target_node}, WEB_PORT), web.namespace)
    source_pod = next(iter(web.by_node.values()))
    fqdn = f"{name}.{web.namespace}.svc.cluster.local"

    def answers() -> tuple[bool, str]:
        try:
            code, out = run_in(
                kube.core, web.namespace, source_pod, ["wget", "-q", "-T", "5", "-O", "-", f"http://{fqdn}:{WEB_PORT}/"]
            )
        except websocket.WebSocketException as e:  # the exec stream broke: ask again
            return False, f"{type(e).__name__}: {e}"
        return (code == 0 and out.strip() == target_node), f"exit {code}: {out.strip()[:200]}"

    try:
        # Endpoints and DNS records follow a new Service within seconds.
        return wait_until(answers, timeout, f"{fqdn} answering with {target_node}", interval=2)
    except WaitTimeout as e:
        _, lookup = run_in(kube.core, web.namespace, source_pod, ["nslookup", fqdn])
        raise CheckFailed(f"{e}; nslookup says: {lookup.strip()[:300]}") from None


def nodeport_answers_on_loopback(
    kube: Clients, web: WebPods, node_port: int, host_port: int, timeout: float = 60
) -> float:
    """A NodePort Service answers on 127.0.0.1:<host_port> (kind extraPortMappings); returns seconds."""
    create(kube, service(f"web-np-{node_port}", {"app": "web"}, WEB_PORT, node_port=node_port), web.namespace)
    url = f"http://127.0.0.1:{host_port}/"

    def answers() -> tuple[bool, str]:
        try:
            with urllib.request.urlopen(url, timeout=3) as r:
                body = r.read().decode().strip()
                return (r.status == 200 and body in web.by_node), f"HTTP {r.status}: {body[:100]}"
        except http.client.HTTPException as e:  # a cut-off answer while kube-proxy catches up
            return False, f"{type(e).__name__}: {e}"

    try:
        return wait_until(answers, timeout, f"{url} answering with a worker's name", interval=1)
    except WaitTimeout as e:
        raise CheckFailed(str(e)) from None


def kube_system_healthy(kube: Clients) -> None:
    check_kube_system({p.metadata.name: p.status.phase for p in kube.core.list_namespaced_pod("kube-system").items})


def check_kube_system(phases: dict[str, str]) -> None:
    """kube-system's pods (name -> phase) all Running, with etcd, the API server, kube-proxy and CoreDNS among them."""
    bad = [f"{name}: {phase}" for name, phase in phases.items() if phase != "Running"]
    names = sorted(phases)
    missing = [
        c for c in ("etcd-", "kube-apiserver-", "kube-proxy-", "coredns-") if not any(n.startswith(c) for n in names)
    ]
    if bad or missing:
        raise CheckFailed(f"kube-system: not running {bad}; missing {missing} among {names}")
