"""Existing-cluster mode on a real cluster the harness did not create (DESIGN §10).

A fixture makes a kind cluster with plain `kind create cluster` (tests/support/external_kind.py) and
pre-installs the stack with `harness stack install --kubeconfig/--context`. Its kubeconfig also
holds a decoy context, made the current one and pointing nowhere: a run that used any context but
the one named would fail, and the file's current context must be unchanged afterwards. Then the
harness runs in a subprocess, as a user runs it: the read-only suites pass, a disruptive check is
refused (and says which flag allows it) unless --allow-disruption names that context, and no
namespace the harness created remains.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import external_kind
import pytest
import yaml
from kubernetes import client

from harness.cluster.discover import plain_items
from harness.kube.client import Clients
from harness.kube.namespaces import OWNER_LABEL

pytestmark = pytest.mark.lifecycle

ROOT = Path(__file__).resolve().parents[2]
NAME = "llmc-ext"
HOST_PORT = 30120
DECOY = "decoy"

DISRUPTIVE_CHECK = '''
import pytest
from harness.kube.namespaces import scratch_namespace
from harness.builders.core import web_pod
from harness.kube.objects import create
from harness.kube.pods import wait_ready


@pytest.mark.smoke
@pytest.mark.disruptive
def test_kills_a_pod(kube, testbed):
    """A disruptive check: kills a pod (its own, in its own namespace)."""
    worker = testbed.spec.workers[0].name
    with scratch_namespace(kube.core, "disrupt") as ns:
        create(kube, web_pod("victim", worker, 8080), ns)
        wait_ready(kube.core, ns, ["victim"], 120)
        kube.core.delete_namespaced_pod("victim", ns, grace_period_seconds=0)
'''


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[external_kind.External]:
    external_kind.delete(NAME)  # a run killed before its finally left it behind
    ext = external_kind.create(NAME, tmp_path_factory.mktemp(NAME), HOST_PORT)
    try:
        _add_decoy_context(ext.kubeconfig)
        kube = Clients.from_kubeconfig(ext.kubeconfig, ext.context)
        # The owner's choice for a small cluster (room for the stack and the checks on 2-core nodes):
        # drop the control-plane taint, kind's only one.
        kube.core.patch_node(f"{NAME}-control-plane", {"spec": {"taints": []}})
        yield ext
    finally:
        external_kind.delete(NAME, ext.supply)


@pytest.fixture(scope="module")
def with_stack(cluster: external_kind.External) -> external_kind.External:
    """The owner installs the stack (the tests before this one see the cluster without it)."""
    command = ["stack", "install", "--kubeconfig", str(cluster.kubeconfig), "--context", cluster.context]
    subprocess.run([sys.executable, "-m", "harness", *command], check=True, timeout=1500)
    return cluster


def _add_decoy_context(kubeconfig: Path) -> None:
    config = yaml.safe_load(kubeconfig.read_text())
    config["clusters"].append({"name": DECOY, "cluster": {"server": "https://127.0.0.1:1"}})
    config["users"].append({"name": DECOY, "user": {"token": "none"}})
    config["contexts"].append({"name": DECOY, "context": {"cluster": DECOY, "user": DECOY}})
    config["current-context"] = DECOY
    kubeconfig.write_text(yaml.safe_dump(config))


def _run(ext: external_kind.External, args: list[str], report: Path, timeout: float = 1800) -> dict[str, Any]:
    """pytest with the harness plugin on the external cluster; returns results.json's checks by name."""
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA", "--llmc-report-dir", str(report)]
    cmd += ["--llmc-kubeconfig", str(ext.kubeconfig), "--llmc-context", ext.context, *args]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    print(proc.stdout[-6000:], proc.stderr[-3000:])
    results = json.loads((report / "latest" / "results.json").read_text())
    checks = {c["nodeid"].rsplit("::", 1)[-1]: c for c in results["checks"]}
    checks["exit"] = proc.returncode
    return checks


def _harness_namespaces(ext: external_kind.External) -> list[str]:
    kube = Clients.from_kubeconfig(ext.kubeconfig, ext.context)
    listed = kube.core.list_namespace(label_selector=f"{OWNER_LABEL}=true")
    return [str(ns["metadata"]["name"]) for ns in plain_items(kube, listed)]


def _current_context(kubeconfig: Path) -> str:
    return str(yaml.safe_load(kubeconfig.read_text())["current-context"])


def test_discovery_reads_another_drivers_slices(cluster: external_kind.External) -> None:
    """A driver that is not ours publishes two GPUs and a NIC on one PCIe root of NUMA node 1 (as a
    vendor's GPU driver and DraNet would); `harness discover` shows that node's topology from them."""
    worker = f"{NAME}-worker"
    body = {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceSlice",
        "metadata": {"name": "llmc-ext-foreign"},
        "spec": {
            "driver": "gpu.example.com",
            "nodeName": worker,
            "pool": {"name": worker, "generation": 1, "resourceSliceCount": 1},
            "devices": [
                {
                    "name": name,
                    "attributes": {
                        "type": {"string": kind},
                        "productName": {"string": "X100"},
                        "resource.kubernetes.io/numaNode": {"int": 1},
                        "resource.kubernetes.io/pcieRoot": {"string": "pci0000:40"},
                    },
                }
                for name, kind in (("gpu-0", "gpu"), ("gpu-1", "gpu"), ("nic-0", "nic"))
            ],
        },
    }
    custom = client.CustomObjectsApi(Clients.from_kubeconfig(cluster.kubeconfig, cluster.context).api)
    custom.create_cluster_custom_object("resource.k8s.io", "v1", "resourceslices", body)
    try:
        shown = _harness(["discover", "--kubeconfig", str(cluster.kubeconfig), "--context", cluster.context])
    finally:
        custom.delete_cluster_custom_object("resource.k8s.io", "v1", "resourceslices", "llmc-ext-foreign")
    assert f"{worker} (worker) zone=zone-x rack=-: 2 GPUs, 1 NICs on 2 NUMA nodes" in shown, shown
    assert "X100 [numa0: none | numa1: 2g+1n]" in shown, shown
    assert "gpu.example.com: 1 nodes, 2 gpu, 1 nic; NUMA attribute on 3/3, PCIe root on 3/3" in shown, shown


def test_no_install_leaves_a_bare_cluster_bare_and_checks_not_applicable(
    cluster: external_kind.External, tmp_path: Path
) -> None:
    args = ["suites/test_components.py", "-k", "not pinned_versions", "--llmc-no-install"]
    checks = _run(cluster, args, tmp_path)
    verdicts = {name: c["verdict"] for name, c in checks.items() if name != "exit"}
    assert len(verdicts) == 5 and set(verdicts.values()) == {"not_applicable"}, verdicts
    reason = checks["test_keda_scales_a_target_up_on_a_metric_and_back"]["reason"]
    assert "keda is not installed" in reason and "--llmc-no-install" in reason, reason
    discovered = _harness(["discover", "--kubeconfig", str(cluster.kubeconfig), "--context", cluster.context])
    for name in ("lws", "kueue", "keda", "prometheus"):
        assert f"{name}: missing" in discovered, discovered


def test_read_only_suites_pass_on_a_cluster_the_harness_did_not_create(
    with_stack: external_kind.External, tmp_path: Path
) -> None:
    discovered = _harness(["discover", "--kubeconfig", str(with_stack.kubeconfig), "--context", with_stack.context])
    for line in ("lws: v0.9.0", "kueue: v0.19.2", "keda: v2.20.2", "prometheus: v2.53.3"):
        assert line in discovered, discovered
    suites = ["suites/test_smoke.py", "suites/test_components.py"]
    checks = _run(
        with_stack, [*suites, "--llmc-host-port", f"{external_kind.NODE_PORT}:{with_stack.host_port}"], tmp_path
    )
    verdicts = {name: c["verdict"] for name, c in checks.items() if name != "exit"}
    assert checks["exit"] == 0, verdicts
    assert len(verdicts) == 12 and set(verdicts.values()) == {"passed"}, verdicts
    assert _harness_namespaces(with_stack) == []
    assert _current_context(with_stack.kubeconfig) == DECOY


def test_disruptive_check_is_refused_without_the_flag_and_runs_with_it(
    cluster: external_kind.External, tmp_path: Path
) -> None:
    check = tmp_path / "suites" / "test_disrupt.py"  # a conformance check lives in a suites/ folder
    check.parent.mkdir()
    check.write_text(DISRUPTIVE_CHECK)
    refused = _run(cluster, [str(check)], tmp_path / "refused")["test_kills_a_pod"]
    assert refused["verdict"] == "not_applicable", refused
    assert f"--llmc-allow-disruption={cluster.context}" in refused["reason"], refused

    elsewhere = _run(cluster, [str(check), f"--llmc-allow-disruption={DECOY}"], tmp_path / "elsewhere")[
        "test_kills_a_pod"
    ]
    assert elsewhere["verdict"] == "not_applicable" and "does not name" in elsewhere["reason"], elsewhere

    allowed = _run(cluster, [str(check), f"--llmc-allow-disruption={cluster.context}"], tmp_path / "allowed")
    assert allowed["test_kills_a_pod"]["verdict"] == "passed", allowed
    assert _harness_namespaces(cluster) == []
    assert _current_context(cluster.kubeconfig) == DECOY


def _harness(args: list[str]) -> str:
    proc = subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout
