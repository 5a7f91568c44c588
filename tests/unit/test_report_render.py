"""The report's pure parts: the profile, summary.md, the SVG plots and the trend over runs."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from harness.cli import main
from harness.report.environment import Environment, topology
from harness.report.html import charts
from harness.report.record import CheckRecord
from harness.report.results import Run, document, profile
from harness.report.schema import problems
from harness.report.summary import render as summary
from harness.report.svg import Chart, Line, _ticks, line_chart, placement_map
from harness.report.trend import changed_verdicts, find_runs
from harness.spec import load_spec

ROOT = Path(__file__).parents[2]


def run_data(tmp_path: Path, run_id: str, verdicts: dict[str, str], restart_seconds: float) -> dict[str, Any]:
    records = []
    for name, verdict in verdicts.items():
        rec = CheckRecord(nodeid=f"suites/test_x.py::{name}", area="restart", check=name.replace("_", " "))
        rec.verdict, rec.dir = verdict, tmp_path
        rec.reason = "group vllm-0: ring stays broken" if verdict == "failed" else ""
        rec.figure("group_restart", restart_seconds, "s")
        records.append(rec)
    run = Run(run_id, time.time(), Environment("0.1.0", "3.11", "linux"), load_spec(ROOT / "clusters/default.yaml"))
    run.records = records
    return document(run, tmp_path, time.time(), 0)


def test_profile_counts_each_verdict_per_area() -> None:
    counts = profile(["passed", "failed", "passed", "not_applicable"], ["gang", "gang", "dra", "dra"])
    assert counts["total"] == {"passed": 2, "failed": 1, "not_applicable": 1, "error": 0, "not_run": 0}
    assert counts["areas"]["dra"]["not_applicable"] == 1
    assert list(counts["areas"]) == ["dra", "gang"]


def test_document_with_the_default_testbed_matches_the_schema(tmp_path: Path) -> None:
    data = run_data(tmp_path, "r1", {"ring_reforms": "passed"}, 12.0)
    assert problems(data) == []
    racks = {n["rack"] for n in data["testbed"]["nodes"] if n["role"] == "worker"}
    assert len(racks) == 2
    assert data["versions"]["lws"]["version"] == "v0.9.0"


def test_summary_names_the_failure_and_the_testbed(tmp_path: Path) -> None:
    data = run_data(tmp_path, "r1", {"ring_reforms": "failed", "names_and_env": "passed"}, 12.0)
    text = summary(data)
    assert text.splitlines()[0] == "## Conformance run r1: 1 passed, 1 failed"
    spec = load_spec(ROOT / "clusters/default.yaml")
    racks = len({w.rack for w in spec.workers})
    gpus = sum(w.hardware.gpu_count for w in spec.workers if w.hardware)
    assert f"testbed `{spec.name}`: {len(spec.workers)} workers in {racks} racks, {gpus} GPUs" in text
    assert "ring stays broken" in text


def test_ticks_are_round_and_within_range() -> None:
    assert _ticks(0, 1.05) == [0.0, 0.5, 1.0]
    assert _ticks(0, 137, 8) == [0, 20, 40, 60, 80, 100, 120]


def test_step_lines_hold_each_value_until_the_next_point() -> None:
    svg = line_chart(Chart("replicas", "pods", [Line("replicas", [(0, 1), (10, 3)], step=True)]))
    points = re.search(r'class="line"[^>]*points="([^"]+)"', svg)
    assert points, svg
    ys = [float(p.split(",")[1]) for p in points.group(1).split()]
    assert len(ys) == 3 and ys[0] == ys[1] != ys[2]  # flat at 1, then up to 3 at t=10


def test_disruptions_are_dashed_marks_on_the_chart() -> None:
    svg = line_chart(Chart("latency", "ms", [Line("ttft", [(0, 5), (5, 50)])], [("drain start", 2.0)]))
    assert svg.count('class="mark"') == 1 and "drain start" in svg


def test_placement_map_draws_every_worker_and_each_device(tmp_path: Path) -> None:
    testbed = topology(load_spec(ROOT / "clusters/default.yaml"))
    placed = [{"group": "g0", "rack": "rack-1", "node": "llmc-worker", "numa": 1, "devices": ["gpu-2", "gpu-3"]}]
    svg = placement_map(placed, testbed)
    assert svg.count('class="chip"') == 2
    assert all(n["name"] in svg for n in testbed["nodes"] if n["role"] == "worker")  # type: ignore[index]


def test_trend_lists_checks_that_changed_verdict(tmp_path: Path) -> None:
    runs = []
    for i, verdicts in enumerate([{"a": "passed", "b": "passed"}, {"a": "failed", "b": "passed"}]):
        folder = tmp_path / "reports" / f"run-{i}"
        folder.mkdir(parents=True)
        data = run_data(folder, f"run-{i}", verdicts, 10.0 + i)
        data["run"]["started"] = 1000.0 + i
        (folder / "results.json").write_text(json.dumps(data))
        runs.append(data)
    assert changed_verdicts(runs) == {"suites/test_x.py::a": ["passed", "failed"]}
    assert [r["run"]["id"] for r in find_runs([tmp_path / "reports"])] == ["run-0", "run-1"]
    out = tmp_path / "trend.html"
    assert main(["report", "trend", str(tmp_path / "reports"), "--out", str(out)]) == 0
    page = out.read_text()
    assert "2 runs" in page and 'id="changes"' in page and 'class="plot trend"' in page


def test_a_long_load_gets_close_ups_around_each_disruption() -> None:
    timeline = [
        {"second": s, "in_flight": 2, "failed": int(s == 70), "succeeded": 1, "ttft_p50": 0.05, "itl_p50": 0.01}
        for s in range(150)
    ]
    load = {"summary": {"started": 100.0, "timeline": timeline}, "csv": [], "out": "load"}
    check = {"started": 100.0, "series": {}, "events": [{"label": "drain start", "at": 165.0}], "loads": {"l": load}}
    close_ups = [c for c in charts(check) if c.kind == "disruption"]
    assert [(c.title, c.unit) for c in close_ups] == [
        ("around drain start", "ms"),
        ("around drain start", "requests/s"),
    ]
    assert close_ups[1].x_range == (50.0, 110.0)
    assert all(50 <= x <= 110 for line in close_ups[1].lines for x, _ in line.points)
