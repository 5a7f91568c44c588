"""Diagnostics are collected when a check fails: a pytest run (in a subprocess, on this real testbed)
of deliberately failing checks must leave, in each failed check's folder, the events and the pod logs
of what the check ran, the controllers' logs, object dumps and the run's `kind export logs`.

One of the checks fails inside a scratch namespace, which is deleted before pytest reports the
failure: its events must still be there (the session's event watch saw them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.cluster.testbed import TestbedCluster

pytestmark = pytest.mark.smoke

FAILING_CHECKS = '''
import pytest

from harness import timeouts, versions
from harness.checks import CheckFailed
from harness.kube.namespaces import scratch_namespace
from harness.kube.objects import create
from harness.kube.pods import wait_ready

pytestmark = pytest.mark.smoke


def talker(name):
    command = f"echo {name} says diagnostics-marker; sleep 3600"
    container = {"name": name, "image": versions.pinned()["busybox"]["image"], "command": ["sh", "-c", command]}
    spec = {"containers": [container], "terminationGracePeriodSeconds": 1}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


@pytest.fixture(scope="module")
def namespace(kube):
    with scratch_namespace(kube.core, "diag") as ns:
        yield ns


def test_failing_check_with_a_live_pod(kube, namespace, record):
    """A deliberately failing check whose pod still runs when it is reported"""
    create(kube, talker("talker"), namespace)
    wait_ready(kube.core, namespace, ["talker"], timeout=timeouts.POD_READY)
    raise CheckFailed("talker: deliberately failed, to see its diagnostics")


def test_failing_check_in_a_deleted_namespace(kube):
    """A deliberately failing check whose namespace is gone when it is reported"""
    with scratch_namespace(kube.core, "gone") as ns:
        create(kube, talker("vanishing"), ns)
        wait_ready(kube.core, ns, ["vanishing"], timeout=timeouts.POD_READY)
        raise CheckFailed("vanishing: deliberately failed, to see its diagnostics")
'''


@pytest.fixture(scope="module")
def failed_run(testbed: TestbedCluster, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("diagnostics")
    (root / "suites").mkdir()  # a conformance check lives in a suites/ folder
    (root / "suites" / "test_failing.py").write_text(FAILING_CHECKS)
    spec = str(Path(testbed.spec.source).resolve())
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "suites/test_failing.py"]
    command += ["--llmc-testbed", spec, "--llmc-reuse-cluster", "--llmc-keep-cluster", "--llmc-report-dir", "reports"]
    proc = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "2 failed" in proc.stdout, proc.stdout[-3000:]
    return (root / "reports" / "latest").resolve()


def check(run: Path, name: str) -> dict[str, Any]:
    data = json.loads((run / "results.json").read_text())
    found: dict[str, Any] = next(c for c in data["checks"] if c["nodeid"].endswith(name))
    return found


def test_failed_check_has_events_pod_logs_and_controller_logs(failed_run: Path) -> None:
    c = check(failed_run, "test_failing_check_with_a_live_pod")
    assert c["verdict"] == "failed" and c["diagnostics"], c
    diag = failed_run / c["diagnostics"]
    events = (diag / "events.txt").read_text()
    assert "Pod/talker" in events and "Scheduled" in events, events[-2000:]
    logs = list(diag.glob("pods/llmc-diag-*/talker.talker.log"))
    assert logs and "talker says diagnostics-marker" in logs[0].read_text(), sorted(diag.rglob("*"))
    assert list(diag.glob("pods/llmc-diag-*/pods.yaml"))
    assert list(diag.glob("controllers/kube-system/kube-scheduler-*.log")), sorted(diag.rglob("*"))
    assert (diag / "objects" / "nodes.yaml").is_file()
    assert "kind export logs: " in (diag / "README.txt").read_text()


def test_events_of_a_deleted_namespace_survive(failed_run: Path) -> None:
    c = check(failed_run, "test_failing_check_in_a_deleted_namespace")
    diag = failed_run / c["diagnostics"]
    events = (diag / "events.txt").read_text()
    assert "Pod/vanishing" in events and "Started" in events, events[-2000:]


def test_kind_logs_are_exported_once_for_the_run(failed_run: Path) -> None:
    kind_logs = failed_run / "kind-logs"
    assert kind_logs.is_dir() and any(kind_logs.rglob("kubelet.log")), sorted(kind_logs.rglob("*"))[:20]


def test_the_report_lists_the_failures_with_their_diagnostics(failed_run: Path) -> None:
    summary = (failed_run / "summary.md").read_text()
    assert summary.splitlines()[0].endswith("0 passed, 2 failed")
    assert "deliberately failed, to see its diagnostics" in summary and "diagnostics: `checks/" in summary
    assert 'href="checks/' in (failed_run / "index.html").read_text()
