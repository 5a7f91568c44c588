"""Negative controls for the smoke checks (suites/test_smoke.py): the suite's set-up
(harness/scenarios/smoke.py) or the testbed with one thing broken, and the check fails naming why.

Runs on the same real testbed as the smoke suite (`tox` passes both to one pytest session); every
breakage is undone before the test ends.
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator

import pytest

from harness.checks import CheckFailed, smoke
from harness.cluster.testbed import TestbedCluster
from harness.kube.client import Clients
from harness.kube.waits import wait_until
from harness.scenarios import smoke as scenarios

pytestmark = pytest.mark.smoke


@pytest.fixture(scope="module")
def web(kube: Clients, testbed: TestbedCluster) -> Iterator[smoke.WebPods]:
    with scenarios.web_pods(kube, testbed.spec, "smoke-neg") as web:
        yield web


def test_node_labels_check_fails_when_the_spec_disagrees(kube: Clients, testbed: TestbedCluster) -> None:
    worker = testbed.spec.workers[0]
    moved = dataclasses.replace(worker, rack="rack-elsewhere")
    wrong_spec = dataclasses.replace(testbed.spec, nodes=tuple(moved if n is worker else n for n in testbed.spec.nodes))
    with pytest.raises(CheckFailed, match=rf"{worker.name} labels .*rack-elsewhere"):
        smoke.nodes_match_spec(kube, wrong_spec)


def test_placement_check_fails_when_the_pods_are_not_pinned(kube: Clients, testbed: TestbedCluster) -> None:
    # Left to the scheduler, the pods go where its scores say: each on its own worker only by chance.
    with (
        scenarios.web_pods(kube, testbed.spec, "smoke-unpinned", pinned=False) as web,
        pytest.raises(CheckFailed, match=r"pods landed on other nodes \(wanted: got\): \{'"),
    ):
        smoke.pods_on_their_workers(kube, web)


def test_pod_network_check_fails_when_a_node_drops_pod_traffic(
    kube: Clients, web: smoke.WebPods, testbed: TestbedCluster
) -> None:
    victim = list(web.by_node)[-1]
    ip = web.pod_ips(kube)[victim]
    node = testbed.docker.containers.get(victim)
    rule = ["FORWARD", "-d", f"{ip}/32", "-j", "DROP"]
    assert node.exec_run(["iptables", "-I", *rule]).exit_code == 0
    try:
        with pytest.raises(CheckFailed, match=rf"{victim} \({ip}\)"):
            smoke.pod_network_spans_nodes(kube, web, timeout=3)
    finally:
        node.exec_run(["iptables", "-D", *rule])
    smoke.pod_network_spans_nodes(kube, web)  # and it holds again once repaired


def test_dns_and_system_checks_fail_without_coredns(kube: Clients, web: smoke.WebPods) -> None:
    replicas = kube.apps.read_namespaced_deployment_scale("coredns", "kube-system").spec.replicas
    kube.apps.patch_namespaced_deployment_scale("coredns", "kube-system", {"spec": {"replicas": 0}})
    try:
        wait_until(lambda: (_coredns_pods(kube) == 0, f"{_coredns_pods(kube)} pods left"), 60, "coredns pods gone", 1)
        # Without endpoints, kube-proxy rejects the DNS queries: the lookup fails at once.
        with pytest.raises(CheckFailed, match=r"last seen: exit \d+: wget: bad address '"):
            smoke.service_dns_answers(kube, web, timeout=10)
        with pytest.raises(CheckFailed, match=r"missing .*coredns-"):
            smoke.kube_system_healthy(kube)
    finally:
        kube.apps.patch_namespaced_deployment_scale("coredns", "kube-system", {"spec": {"replicas": replicas}})
        wait_until(lambda: (_coredns_ready(kube) >= replicas, f"{_coredns_ready(kube)} ready"), 120, "coredns back", 2)


def test_nodeport_check_fails_on_an_unmapped_port(kube: Clients, web: smoke.WebPods, testbed: TestbedCluster) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        unmapped = s.getsockname()[1]
    node_port = testbed.endpoint().node_port
    with pytest.raises(
        CheckFailed,
        match=rf"127\.0\.0\.1:{unmapped}/ .*last seen: URLError: <urlopen error \[Errno 111\] Connection refused>",
    ):
        smoke.nodeport_answers_on_loopback(kube, web, node_port, unmapped, timeout=5)


def _coredns_pods(kube: Clients) -> int:
    return len(kube.core.list_namespaced_pod("kube-system", label_selector="k8s-app=kube-dns").items)


def _coredns_ready(kube: Clients) -> int:
    pods = kube.core.list_namespaced_pod("kube-system", label_selector="k8s-app=kube-dns").items
    return sum(any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or []) for p in pods)
