"""results.json: one run's environment, versions, testbed and every check's record (schema: schema.py)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import versions
from harness.report import ai_conformance
from harness.report.environment import Environment, topology
from harness.report.record import CheckRecord
from harness.report.schema import SCHEMA_VERSION, VERDICTS
from harness.spec import Testbed


@dataclass
class Run:
    """Everything results.json is made of, gathered while the session runs."""

    id: str
    started: float
    environment: Environment
    spec: Testbed | None = None
    records: list[CheckRecord] = field(default_factory=list)
    args: list[str] = field(default_factory=list)


def document(run: Run, run_dir: Path, finished: float, exit_status: int | None) -> dict[str, Any]:
    checks = [_check(r, run_dir) for r in run.records]
    return {
        "schema_version": SCHEMA_VERSION,
        "run": {
            "id": run.id,
            "started": run.started,
            "finished": finished,
            "exit_status": exit_status,
            "args": run.args,
        },
        "environment": run.environment.to_json(),
        "versions": versions.pinned(),
        "testbed": topology(run.spec),
        "profile": profile([r.verdict for r in run.records], [r.area for r in run.records]),
        "checks": checks,
        "ai_conformance": ai_conformance.table(checks),
    }


def profile(verdicts: list[str], areas: list[str]) -> dict[str, Any]:
    """The conformance profile: counts per verdict, in total and per area."""

    def counts(items: list[str]) -> dict[str, int]:
        c = Counter(items)
        return {v: c.get(v, 0) for v in VERDICTS}

    by_area: dict[str, list[str]] = {}
    for verdict, area in zip(verdicts, areas, strict=True):
        by_area.setdefault(area, []).append(verdict)
    return {"total": counts(verdicts), "areas": {a: counts(v) for a, v in sorted(by_area.items())}}


def _check(record: CheckRecord, run_dir: Path) -> dict[str, Any]:
    data = record.to_json()
    data["dir"] = _relative(Path(data["dir"]), run_dir)
    if record.diagnostics:
        data["diagnostics"] = _relative(Path(record.diagnostics), run_dir)
    for load in data["loads"].values():
        out = Path(load["out"])
        load["csv"] = sorted(_relative(p, run_dir) for p in out.glob("*.csv")) if out.is_dir() else []
        load["out"] = _relative(out, run_dir)
    return data


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def write_results(run_dir: Path, data: dict[str, Any]) -> Path:
    path = run_dir / "results.json"
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return path


def read_results(path: Path) -> dict[str, Any]:
    """A results.json, given the file or its run folder."""
    if path.is_dir():
        path = path / "results.json"
    data: dict[str, Any] = json.loads(path.read_text())
    if data.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"{path}: schema_version {data.get('schema_version')!r}, this harness reads {SCHEMA_VERSION}")
    return data
