"""Smoke: the testbed itself works — nodes, pods on every worker, the pod network, DNS, NodePort on 127.0.0.1.

Negative controls: tests/cluster/test_smoke_negative.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.checks import smoke
from harness.cluster.testbed import TestbedCluster
from harness.kube.client import Clients
from harness.scenarios import smoke as scenarios

pytestmark = pytest.mark.smoke


@pytest.fixture(scope="module")
def web(kube: Clients, testbed: TestbedCluster) -> Iterator[smoke.WebPods]:
    with scenarios.web_pods(kube, testbed.spec, "smoke") as web:
        yield web


def test_nodes_ready_with_spec_labels(kube: Clients, testbed: TestbedCluster) -> None:
    """Every node of the spec is Ready, with its zone, rack and hardware-profile labels."""
    smoke.nodes_match_spec(kube, testbed.spec)


def test_pod_runs_on_every_worker(kube: Clients, web: smoke.WebPods) -> None:
    """A pod pinned to each worker runs there and becomes Ready."""
    smoke.pods_on_their_workers(kube, web)


def test_pod_to_pod_traffic_across_nodes(kube: Clients, web: smoke.WebPods) -> None:
    """Pods on different nodes reach each other over the pod network."""
    smoke.pod_network_spans_nodes(kube, web)


def test_cluster_dns_resolves_a_service(kube: Clients, web: smoke.WebPods) -> None:
    """Cluster DNS resolves a Service name and the Service answers."""
    smoke.service_dns_answers(kube, web)


def test_nodeport_answers_on_localhost(kube: Clients, web: smoke.WebPods, testbed: TestbedCluster) -> None:
    """A NodePort Service answers on 127.0.0.1 through the testbed's port mapping."""
    mapping = testbed.endpoint()
    smoke.nodeport_answers_on_loopback(kube, web, mapping.node_port, mapping.host_port)


def test_kube_system_is_healthy(kube: Clients) -> None:
    """kube-system is healthy: etcd, API server, kube-proxy and CoreDNS run."""
    smoke.kube_system_healthy(kube)
