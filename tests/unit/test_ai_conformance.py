"""The Kubernetes AI Conformance table: the catalog holds every v1.37 requirement and names only checks
the suites define; verdicts follow the rule; results.json, summary.md, index.html and
`harness report ai-conformance` carry every requirement."""

from __future__ import annotations

import ast
import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cli import main
from harness.report import ai_conformance
from harness.report.ai_conformance import Requirement, catalog, judge, junit_id, maps, table
from harness.report.environment import Environment
from harness.report.html import render as html
from harness.report.record import CheckRecord
from harness.report.results import Run, document, write_results
from harness.report.schema import problems
from harness.report.summary import render as summary

ROOT = Path(__file__).parents[2]
# The v1.37 checklist (kubernetes-sigs/ai-conformance: the v1.36 file's 14 plus KAR-0020's SHOULD).
V1_37 = {
    "ai_inference": "MUST",
    "gang_scheduling": "MUST",
    "cluster_autoscaling": "MUST",
    "pod_autoscaling": "MUST",
    "accelerator_metrics": "MUST",
    "ai_service_metrics": "MUST",
    "secure_accelerator_access": "MUST",
    "robust_controller": "MUST",
    "driver_runtime_management": "SHOULD",
    "gpu_sharing": "SHOULD",
    "virtualized_accelerator": "SHOULD",
    "advanced_inference_ingress": "SHOULD",
    "high_performance_networking": "SHOULD",
    "disaggregated_inference": "SHOULD",
    "workload_sandboxing": "SHOULD",
}


def suite_checks() -> set[str]:
    """`suites/<file>::<test>` of every test function the suites define (parsed, not imported)."""
    found = set()
    for path in sorted((ROOT / "suites").glob("test_*.py")):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"):
                found.add(f"suites/{path.name}::{node.name}")
    return found


def test_the_catalog_holds_every_v1_37_requirement_at_its_level_once() -> None:
    cat = catalog()
    assert cat.version == "v1.37"
    ids = [r.id for r in cat.requirements]
    assert len(ids) == len(set(ids)), ids
    assert {r.id: r.level for r in cat.requirements} == V1_37


def test_every_check_the_catalog_names_is_defined_by_a_suite() -> None:
    defined = suite_checks()
    unknown = [(r.id, c) for r in catalog().requirements for c in r.checks if c not in defined]
    assert not unknown, f"check ids no suite defines: {unknown}"


def test_every_requirement_has_checks_or_says_why_not() -> None:
    for r in catalog().requirements:
        assert bool(r.checks) != bool(r.not_checked), r.id
        assert r.description and r.category, r.id


def check(nodeid: str, verdict: str, reason: str = "", **figures: float) -> dict[str, Any]:
    return {
        "nodeid": nodeid,
        "verdict": verdict,
        "reason": reason,
        "figures": {k: {"value": v, "unit": "s"} for k, v in figures.items()},
    }


REQ = Requirement(
    "gang_scheduling", "schedulingOrchestration", "MUST", "all or nothing", ("suites/a.py::t1", "suites/a.py::t2")
)


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ({"t1": "passed", "t2": "failed"}, "failed"),
        ({"t1": "passed", "t2": "error"}, "failed"),
        ({"t1": "passed", "t2": "passed"}, "passed"),
        ({"t1": "passed", "t2": "not_applicable"}, "passed"),
        ({"t1": "passed"}, "passed"),
        ({"t1": "not_applicable", "t2": "not_applicable"}, "not_applicable"),
        ({}, "not_run"),
    ],
)
def test_a_requirement_verdict_follows_its_checks(verdicts: dict[str, str], expected: str) -> None:
    ran = [check(f"suites/a.py::{name}", v, reason=f"{name} said so") for name, v in verdicts.items()]
    verdict, reason = judge(REQ, ran)
    assert verdict == expected
    if expected == "failed":
        assert "suites/a.py::t2" in reason and "t2 said so" in reason
    if expected == "not_applicable":
        assert "t1 said so" in reason and "t2 said so" in reason
    if verdicts == {"t1": "passed"}:
        assert reason == "1 of the 1 checks run passed; suites/a.py::t2 not run"


def test_every_parameter_of_a_check_counts_as_a_check_run() -> None:
    req = Requirement("robust_controller", "operator", "MUST", "d", ("suites/a.py::t",))
    ran = [check("suites/a.py::t[lws]", "passed"), check("suites/a.py::t[kueue]", "passed")]
    assert judge(req, ran) == ("passed", "2 of the 2 checks run passed")


def test_a_requirement_no_check_covers_is_not_checked_with_its_reason() -> None:
    req = Requirement("cluster_autoscaling", "x", "MUST", "d", (), not_checked="needs a node autoscaler")
    assert judge(req, []) == ("not_checked", "needs a node autoscaler")


def test_a_check_id_names_every_parameter_and_any_rootdir() -> None:
    check_id = "suites/test_topology.py::test_dra_constraint_aligns_every_allocation"
    assert maps(check_id, check_id + "[numa]")
    assert maps(check_id, "llmc/" + check_id)
    assert maps(check_id + "[numa]", check_id + "[numa]")
    assert not maps(check_id + "[numa]", check_id + "[pcie-root]")
    assert not maps(check_id, check_id + "_more")
    assert not maps("test_x.py::t", "suites/other_test_x.py::t")


def test_junit_ids_are_what_junitxml_writes() -> None:
    assert junit_id("suites/test_gang.py::test_x[a-b]") == "suites.test_gang.test_x[a-b]"
    assert junit_id("suites/test_a.py::TestC::test_y") == "suites.test_a.TestC.test_y"


def sample_run(tmp_path: Path) -> dict[str, Any]:
    """A run with a passed gang check (with a figure), a failed KEDA one and a not-applicable native gang."""
    records = []
    for nodeid, verdict in (
        ("suites/test_gang.py::test_group_that_does_not_fit_is_admitted_whole_or_not_at_all", "passed"),
        ("suites/test_gang.py::test_native_gang_scheduling", "not_applicable"),
        ("suites/test_scaling.py::test_keda_scales_groups_up_under_load_and_down_after", "failed"),
    ):
        rec = CheckRecord(nodeid=nodeid, area="gang", check=nodeid.rsplit("::", 1)[1])
        rec.verdict, rec.dir = verdict, tmp_path
        rec.reason = {"failed": "LWS replicas 1: not scaled", "not_applicable": "no PodGroup API"}.get(verdict, "")
        if verdict == "passed":
            rec.figure("pods_bound", 0, "pods")
        records.append(rec)
    run = Run("r1", time.time(), Environment("0.1.0", "3.11", "linux"))
    run.records = records
    return document(run, tmp_path, time.time(), 1)


def test_results_json_lists_every_requirement_with_its_verdict(tmp_path: Path) -> None:
    data = sample_run(tmp_path)
    assert problems(data) == []
    rows = {r["id"]: r for r in data["ai_conformance"]["requirements"]}
    assert list(rows) == [r.id for r in catalog().requirements]
    gang = rows["gang_scheduling"]
    assert gang["verdict"] == "passed"
    assert [e["verdict"] for e in gang["evidence"]] == ["passed", "not_applicable"]
    assert gang["evidence"][0]["figures"] == {"pods_bound": {"value": 0.0, "unit": "pods"}}
    assert rows["pod_autoscaling"]["verdict"] == "failed"
    assert "not scaled" in rows["pod_autoscaling"]["reason"]
    assert "external.metrics.k8s.io" in rows["pod_autoscaling"]["note"]
    assert rows["cluster_autoscaling"]["verdict"] == "not_checked"
    assert rows["robust_controller"]["verdict"] == "not_run"


def test_summary_and_html_show_every_requirement(tmp_path: Path) -> None:
    data = sample_run(tmp_path)
    text = summary(data)
    section = text[text.index("### AI conformance (v1.37)") :]
    for r in catalog().requirements:
        assert f"| `{r.id}` | {r.level} |" in section
    assert "✅ passed" in section and "❌ failed" in section and "not checked by this harness" in section
    assert "`test_group_that_does_not_fit_is_admitted_whole_or_not_at_all`: pods_bound 0 pods" in section
    page = html(data)
    body = page[page.index('id="ai-conformance-table"') :]
    assert all(f"<code>{r.id}</code>" in body for r in catalog().requirements)
    assert 'href="#check-0"' in body and "needs a node autoscaler" in body


def test_a_results_json_without_the_table_gets_it_from_its_checks(tmp_path: Path) -> None:
    data = sample_run(tmp_path)
    del data["ai_conformance"]
    assert ai_conformance.of(data) == table(data["checks"])


def test_the_cli_prints_the_checklist_answers_with_evidence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_results(tmp_path, sample_run(tmp_path))
    assert main(["report", "ai-conformance", str(tmp_path)]) == 0
    answers = yaml.safe_load(capsys.readouterr().out)
    assert answers["metadata"]["kubernetesVersion"] == "v1.37"
    rows = {r["id"]: r for section in answers["spec"].values() for r in section}
    assert set(rows) == set(V1_37)
    assert rows["gang_scheduling"]["status"] == "passed"
    assert rows["gang_scheduling"]["evidence"][0] == (
        "junit_01.xml suites.test_gang.test_group_that_does_not_fit_is_admitted_whole_or_not_at_all: passed; "
        "pods_bound 0 pods"
    )
    assert rows["cluster_autoscaling"]["status"] == "not checked by this harness"
    assert "node autoscaler" in rows["cluster_autoscaling"]["notes"]


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (None, "no results.json in this folder"),
        ("{not json", "not JSON"),
        ("[]", "not a results.json this harness reads"),
    ],
)
def test_the_cli_says_in_one_line_what_is_wrong_with_the_run_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, error: str
) -> None:
    if content is not None:
        (tmp_path / "results.json").write_text(content)
    assert main(["report", "ai-conformance", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("harness: error: ") and error in err, err


def test_the_cli_refuses_a_missing_folder(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "ai-conformance", "/missing"]) == 2
    assert capsys.readouterr().err.strip() == "harness: error: /missing: no such file or folder"


def test_old_results_json_files_still_validate(tmp_path: Path) -> None:
    data = json.loads(json.dumps(sample_run(tmp_path)))
    del data["ai_conformance"]  # written before the table existed: the field is optional
    assert problems(data) == []
