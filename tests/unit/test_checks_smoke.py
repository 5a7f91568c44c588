"""Smoke checks on what the testbed showed: nodes, pod placement, answers, kube-system."""

from __future__ import annotations

import pytest

from harness.checks import CheckFailed
from harness.checks.smoke import NodeSeen, check_answers, check_kube_system, check_nodes, check_pods_on_their_nodes

RACK = "llm-conformance.io/rack"
EXPECTED = {"llmc-control-plane": {}, "llmc-worker": {RACK: "rack-1"}, "llmc-worker2": {RACK: "rack-2"}}


def ready(labels: dict[str, str]) -> NodeSeen:
    return NodeSeen("True", "KubeletReady", {"kubernetes.io/os": "linux", **labels})


NODES = {name: ready(labels) for name, labels in EXPECTED.items()}


def test_nodes() -> None:
    check_nodes(NODES, EXPECTED)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            {"llmc-worker3": ready({})},
            r"^nodes \[.*'llmc-worker3'\] are not the spec's \['llmc-control-plane', 'llmc-worker', 'llmc-worker2'\]$",
        ),
        ({"llmc-worker2": None}, r"^nodes \['llmc-control-plane', 'llmc-worker'\] are not the spec's"),
        (
            {"llmc-worker": NodeSeen("False", "KubeletNotReady", {RACK: "rack-1"})},
            r"^llmc-worker not Ready: KubeletNotReady$",
        ),
        ({"llmc-worker": NodeSeen(None, None, {RACK: "rack-1"})}, r"^llmc-worker not Ready: no condition$"),
        (
            {"llmc-worker2": ready({RACK: "rack-elsewhere"})},
            r"^llmc-worker2 labels \(found, expected\): .*\('rack-elsewhere', 'rack-2'\)",
        ),
        ({"llmc-worker2": ready({})}, r"^llmc-worker2 labels \(found, expected\): .*\(None, 'rack-2'\)"),
    ],
    ids=["extra-node", "missing-node", "not-ready", "no-ready-condition", "wrong-label", "missing-label"],
)
def test_nodes_fail(change: dict[str, NodeSeen | None], reason: str) -> None:
    nodes = {name: node for name, node in {**NODES, **change}.items() if node is not None}
    with pytest.raises(CheckFailed, match=reason):
        check_nodes(nodes, EXPECTED)


def test_nodes_fail_lists_every_problem() -> None:
    nodes = {**NODES, "llmc-worker": NodeSeen("Unknown", "NodeStatusUnknown", {}), "llmc-worker2": ready({})}
    with pytest.raises(CheckFailed) as failed:
        check_nodes(nodes, EXPECTED)
    assert str(failed.value).count(";") == 2  # not Ready, and two nodes' labels


def test_pods_on_their_nodes() -> None:
    check_pods_on_their_nodes({"w1": "web-0", "w2": "web-1"}, {"web-0": "w1", "web-1": "w2"})
    with pytest.raises(CheckFailed, match=r"^pods landed on other nodes \(wanted: got\): \{'w2': 'w1'\}$"):
        check_pods_on_their_nodes({"w1": "web-0", "w2": "web-1"}, {"web-0": "w1", "web-1": "w1"})
    with pytest.raises(CheckFailed, match=r"\{'w2': None\}"):  # a pod that is gone, or not scheduled
        check_pods_on_their_nodes({"w1": "web-0", "w2": "web-1"}, {"web-0": "w1"})


def test_answers() -> None:
    check_answers("w1", {("w2", "10.244.2.3"): (0, "w2\n"), ("w3", "10.244.3.3"): (0, "w3")})


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        ((1, "wget: download timed out"), "exit 1: wget: download timed out"),
        ((0, "w3"), "exit 0: w3"),  # another node answered
        ((-1, "\n(no exit within 30 s)"), "exit -1: (no exit within 30 s)"),
    ],
    ids=["no-answer", "wrong-node", "exec-hung"],
)
def test_answers_fail(answer: tuple[int, str], shown: str) -> None:
    with pytest.raises(CheckFailed) as failed:
        check_answers("w1", {("w2", "10.244.2.3"): answer, ("w3", "10.244.3.3"): (0, "w3")})
    assert str(failed.value) == f"from w1's pod, these pods did not answer: {{'w2 (10.244.2.3)': '{shown}'}}"


SYSTEM = {
    "etcd-cp": "Running",
    "kube-apiserver-cp": "Running",
    "kube-proxy-abcde": "Running",
    "coredns-5d78c9869d-x": "Running",
}


def test_kube_system() -> None:
    check_kube_system(SYSTEM)


def test_kube_system_fails_on_a_pod_not_running() -> None:
    with pytest.raises(
        CheckFailed, match=r"kube-system: not running \['coredns-5d78c9869d-x: Pending'\]; missing \[\]"
    ):
        check_kube_system({**SYSTEM, "coredns-5d78c9869d-x": "Pending"})


def test_kube_system_fails_on_a_missing_component() -> None:
    without_dns = {k: v for k, v in SYSTEM.items() if not k.startswith("coredns-")}
    with pytest.raises(CheckFailed, match=r"not running \[\]; missing \['coredns-'\] among \['etcd-cp'"):
        check_kube_system(without_dns)
