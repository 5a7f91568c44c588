"""record.step and where a check's time went: the split by kind, per check and per area, in
results.json, summary.md and index.html."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from harness.report.environment import Environment, controller_manager_timing
from harness.report.html import render as html
from harness.report.record import CheckRecord
from harness.report.results import Run, document
from harness.report.schema import problems
from harness.report.summary import render as summary
from harness.report.timing import by_area, check_split


def test_a_step_is_logged_live_and_kept_with_its_kind(caplog: pytest.LogCaptureFixture) -> None:
    rec = CheckRecord(nodeid="suites/test_x.py::t", area="restart", check="t")
    with caplog.at_level(logging.INFO, logger="llmc.check"), rec.step("kill worker vllm-1-1", kind="setup"):
        pass
    said = [m for m in caplog.messages if "kill worker" in m]
    assert said == ["kill worker vllm-1-1 ...", "kill worker vllm-1-1: done in 0 s"]
    (step,) = rec.steps
    assert (step.label, step.kind, step.depth) == ("kill worker vllm-1-1", "setup", 0)
    assert step.finished is not None and step.finished >= step.started


def test_a_failing_step_is_still_closed() -> None:
    rec = CheckRecord(nodeid="n", area="a", check="c")
    with pytest.raises(RuntimeError), rec.step("group whole again", kind="wait"):
        raise RuntimeError("boom")
    assert rec.steps[0].finished is not None


def test_an_unknown_kind_is_refused() -> None:
    rec = CheckRecord(nodeid="n", area="a", check="c")
    with pytest.raises(ValueError, match="one of setup, wait, observe"), rec.step("x", kind="sleep"):
        pass


def test_the_split_counts_fixtures_as_set_up_outer_steps_once_and_the_rest_as_other() -> None:
    rec = CheckRecord(nodeid="n", area="a", check="c")
    rec.phases = {"setup": 30.0, "call": 100.0, "teardown": 5.0}
    with rec.step("wait for groups", kind="wait"), rec.step("inner", kind="observe"):
        pass
    rec.steps[0].started, rec.steps[0].finished = 0.0, 60.0  # an outer step of 60 s
    rec.steps[1].started, rec.steps[1].finished = 10.0, 20.0  # nested: already in the 60 s
    assert rec.steps[1].depth == 1
    assert rec.timing() == {"setup": 35.0, "wait": 60.0, "observe": 0.0, "other": 40.0}


def test_timing_is_in_results_json_and_the_reports(tmp_path: Path) -> None:
    records = []
    for area, wait in (("restart", 50.0), ("restart", 10.0), ("gang", 5.0)):
        rec = CheckRecord(nodeid=f"suites/test_{area}.py::t{wait:.0f}", area=area, check=f"check {wait:.0f}")
        rec.verdict, rec.dir = "passed", tmp_path
        rec.phases = {"setup": 2.0, "call": wait + 1.0, "teardown": 1.0}
        now = time.time()
        with rec.step("group whole", kind="wait"):
            pass
        rec.steps[0].started, rec.steps[0].finished = now, now + wait
        records.append(rec)
    run = Run("r1", time.time(), Environment("0.1.0", "3.11", "linux"), None)
    run.records = records
    data = document(run, tmp_path, time.time(), 0)
    assert problems(data) == []
    assert data["checks"][0]["timing"] == {"setup": 3.0, "wait": 50.0, "observe": 0.0, "other": 1.0}
    assert by_area(data["checks"])["restart"]["wait"] == 60.0
    assert by_area(data["checks"])["restart"]["total"] == 68.0
    text = summary(data)
    assert "### Where the time went" in text
    assert "| restart | 68 s | 6 s | 60 s | 0 s | 2 s |" in text
    page = html(data)
    assert 'id="time"' in page and "group whole" in page


def test_a_check_from_an_older_run_counts_whole_as_other() -> None:
    split = check_split({"area": "a", "started": 10.0, "finished": 25.0})
    assert split == {"setup": 0.0, "wait": 0.0, "observe": 0.0, "other": 15.0}


def test_the_cluster_timing_is_in_the_environment_and_the_reports(tmp_path: Path) -> None:
    env = Environment("0.1.0", "3.11", "linux")
    env.timing = {"node-monitor-grace-period": "20s", "horizontal-pod-autoscaler-sync-period": "15s (default)"}
    run = Run("r1", time.time(), env, None)
    data = document(run, tmp_path, time.time(), 0)
    assert problems(data) == []
    text = summary(data)
    assert "Cluster timing: node-monitor-grace-period 20s, horizontal-pod-autoscaler-sync-period 15s (default)." in text
    assert "node-monitor-grace-period 20s" in html(data)


def test_the_controller_manager_timing_is_read_off_its_command_line() -> None:
    command = ["kube-controller-manager", "--node-monitor-grace-period=20s", "--leader-elect=true"]
    assert controller_manager_timing(command) == {
        "node-monitor-grace-period": "20s",
        "horizontal-pod-autoscaler-sync-period": "15s (default)",
    }
