"""results.json, summary.md and the run folder from a real pytest run (tests/report/conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.report.schema import problems


@pytest.fixture(scope="module")
def results(sample_run: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((sample_run / "results.json").read_text())
    return data


def by_name(results: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in results["checks"] if c["nodeid"].endswith(name))


def test_run_folder_has_every_report_file(sample_run: Path) -> None:
    for name in ("junit_01.xml", "results.json", "summary.md", "index.html"):
        assert (sample_run / name).is_file(), f"{name} missing from {sorted(p.name for p in sample_run.iterdir())}"
    assert (sample_run.parent / "latest").resolve() == sample_run


def test_results_json_matches_the_schema(results: dict[str, Any]) -> None:
    assert problems(results) == []


def test_schema_rejects_what_it_does_not_describe(results: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(results))
    broken["checks"][0]["verdict"] = "mostly"
    del broken["environment"]
    found = problems(broken)
    assert any(line.startswith("(root): 'environment' is a required property") for line in found), found
    assert any(line.startswith("checks/0/verdict") for line in found), found


def test_every_check_is_there_with_its_verdict(results: dict[str, Any]) -> None:
    verdicts = {c["nodeid"].split("::")[1]: c["verdict"] for c in results["checks"]}
    assert verdicts == {
        "test_group_restarts_whole": "passed",
        "test_without_the_record_fixture": "passed",
        "test_a_failing_check": "failed",
        "test_not_applicable_here": "not_applicable",
    }
    assert by_name(results, "test_without_the_record_fixture")["area"] == "restart"
    assert by_name(results, "test_group_restarts_whole")["disruptive"] is True


def test_reasons_figures_and_evidence_are_kept(results: dict[str, Any]) -> None:
    failed = by_name(results, "test_a_failing_check")
    assert "2/4 pods bound for 60 s: partial placement" in failed["reason"]
    assert failed["check"] == "Two groups competing for the same GPUs: exactly one runs whole"
    na = by_name(results, "test_not_applicable_here")
    assert na["reason"] == "no Workload API (scheduling.k8s.io) on this cluster"
    passed = by_name(results, "test_group_restarts_whole")
    assert passed["figures"]["group_restart"] == {"value": 4.0, "unit": "s", "note": "kill -> all pods ready"}
    assert passed["evidence"] == ["group vllm-0: 4/4 pod UIDs changed"]
    assert [e["label"] for e in passed["events"]] == ["worker killed"]  # the load's mark


def test_load_csvs_are_relative_to_the_run_folder(results: dict[str, Any], sample_run: Path) -> None:
    load = by_name(results, "test_group_restarts_whole")["loads"]["load"]
    assert load["csv"] and all(not Path(p).is_absolute() for p in load["csv"]), load["csv"]
    assert all((sample_run / p).is_file() for p in load["csv"])
    assert load["summary"]["failed"] == 4


def test_profile_counts_per_area(results: dict[str, Any]) -> None:
    assert results["profile"]["total"] == {
        "passed": 2,
        "failed": 1,
        "not_applicable": 1,
        "error": 0,
        "not_run": 0,
    }
    assert results["profile"]["areas"]["restart"]["passed"] == 1
    assert results["profile"]["areas"]["gang"]["failed"] == 1


def test_summary_fits_a_pr_comment(sample_run: Path) -> None:
    text = (sample_run / "summary.md").read_text()
    assert text.startswith("## Conformance run ")
    assert "2 passed, 1 failed, 1 not applicable" in text.splitlines()[0]
    assert "| gang | 1 | 1 | 1 | 0 |" in text
    assert "partial placement" in text
    assert len(text) < 65536  # GitHub's comment limit
