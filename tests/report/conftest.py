"""A real pytest run of sample checks with --llmc-report-dir: the report files the tests here inspect.

The sample checks use every part of the record (series, figures, evidence, events, placements, a load
run with a Locust CSV), and include a check without the record fixture, a failing one and a not
applicable one, so that every section and plot of the report is exercised."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SAMPLE = '''
import time

import pytest

from harness.load.results import summarize

pytestmark = pytest.mark.gang


@pytest.mark.disruptive
def test_group_restarts_whole(record):
    """Killing one worker recreates the whole group"""
    t0 = time.time()
    record.series("pods_ready", [(t0, 4), (t0 + 2, 0), (t0 + 6, 4)], unit="pods", group="vllm-0")
    record.figure("group_restart", 4.0, "s", note="kill -> all pods ready")
    record.evidence("group vllm-0: 4/4 pod UIDs changed")
    record.placement("vllm-0", "rack-1", "sample-worker", 0, ["gpu-0", "gpu-1"], "vllm-0")
    record.placement("vllm-0", "rack-1", "sample-worker", 1, ["gpu-2"], "vllm-0-1")
    record.placement("vllm-1", "rack-2", "sample-worker2", 0, ["gpu-0"], "vllm-1")
    out = record.load_dir("load")
    requests = [
        {"t": t0 + i * 0.5, "end": t0 + i * 0.5 + 1.2, "ok": not 4 <= i < 8, "ttft": 0.05 + 0.01 * i,
         "itl": [0.01, 0.02], "tokens": 3, "e2e": 1.2, "error": "" if not 4 <= i < 8 else "HTTP 503: draining"}
        for i in range(16)
    ]
    (out / "locust_stats.csv").write_text("Type,Name,Request Count\\nPOST,/v1/chat/completions,16\\n")
    record.load(summarize(requests, "http://127.0.0.1:30111", [("worker killed", t0 + 2)]), out)


@pytest.mark.restart
def test_without_the_record_fixture():
    assert True


def test_a_failing_check(record):
    """Two groups competing for the same GPUs: exactly one runs whole"""
    record.evidence("group vllm-1: 2/4 pods bound")
    assert False, "group vllm-1: 2/4 pods bound for 60 s: partial placement"


def test_not_applicable_here(record):
    """Native gang scheduling where the cluster has it"""
    record.not_applicable("no Workload API (scheduling.k8s.io) on this cluster")
'''


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run folder (reports/<run-id>) of a real pytest run of the sample checks."""
    root = tmp_path_factory.mktemp("sample")
    (root / "suites").mkdir()
    (root / "suites" / "test_sample.py").write_text(SAMPLE)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--llmc-report-dir", "reports", "suites"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr  # exactly the one failing sample check
    return (root / "reports" / "latest").resolve()
