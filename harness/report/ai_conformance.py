"""Kubernetes AI Conformance in the report: each requirement of the v1.37 checklist with the checks
that evidence it (ai-conformance-v1.37.yaml, the one place that mapping lives) and a verdict from
their verdicts in this run. Every requirement is listed, covered or not.

Verdict of a requirement:
- failed: a mapped check failed (or errored: it could not judge, so nothing is shown);
- passed: every mapped check that ran passed, and at least one ran;
- not_applicable: every mapped check in the run was not applicable (their reasons are given);
- not_run: checks map to it, but none was part of this run (e.g. `-m smoke`);
- not_checked: no check of this harness covers it (the catalog says why).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

CATALOG = "ai-conformance-v1.37.yaml"
LABELS = {
    "not_applicable": "not applicable",
    "not_run": "not run",
    "not_checked": "not checked by this harness",
}
LEVELS = ("MUST", "SHOULD")


@dataclass(frozen=True)
class Requirement:
    id: str
    category: str
    level: str
    description: str
    checks: tuple[str, ...]  # node ids under suites/; without [parameter]: every parameter
    not_checked: str = ""  # why no check covers it (only when `checks` is empty)
    note: str = ""  # what the mapped checks cover and do not
    kar: int | None = None


@dataclass(frozen=True)
class Catalog:
    checklist: str
    version: str
    source: str
    requirements: tuple[Requirement, ...]


@cache
def catalog() -> Catalog:
    data = yaml.safe_load(resources.files("harness.report").joinpath(CATALOG).read_text())
    requirements = tuple(Requirement(**{**r, "checks": tuple(r.get("checks") or ())}) for r in data["requirements"])
    return Catalog(data["checklist"], data["version"], data["source"], requirements)


def maps(check_id: str, nodeid: str) -> bool:
    """Whether the catalog's `check_id` names the run's check `nodeid` (from any rootdir, any parameter)."""
    base = nodeid.split("[", 1)[0]
    return check_id in (nodeid, base) or nodeid.endswith("/" + check_id) or base.endswith("/" + check_id)


def junit_id(nodeid: str) -> str:
    """The test's id in junit_01.xml, `classname.name`, as pytest's junitxml writes them."""
    path, _, rest = nodeid.partition("::")
    return ".".join([path.removesuffix(".py").replace("/", "."), *rest.split("::")])


def table(checks: list[dict[str, Any]], source: Catalog | None = None) -> dict[str, Any]:
    """The AI conformance table of a run, from its results.json checks."""
    cat = source or catalog()
    return {
        "checklist": cat.checklist,
        "version": cat.version,
        "source": cat.source,
        "requirements": [_row(r, checks) for r in cat.requirements],
    }


def of(data: dict[str, Any]) -> dict[str, Any]:
    """The table a results.json carries; made from its checks when it was written without one."""
    found: dict[str, Any] | None = data.get("ai_conformance")
    return found if found is not None else table(data["checks"])


def _row(req: Requirement, checks: list[dict[str, Any]]) -> dict[str, Any]:
    ran = [c for c in checks if any(maps(i, c["nodeid"]) for i in req.checks)]
    verdict, reason = judge(req, ran)
    return {
        "id": req.id,
        "category": req.category,
        "level": req.level,
        "kar": req.kar,
        "description": req.description,
        "checks": list(req.checks),
        "verdict": verdict,
        "reason": reason,
        "note": req.note,
        "evidence": [_evidence(c) for c in ran],
    }


def judge(req: Requirement, ran: list[dict[str, Any]]) -> tuple[str, str]:
    """The requirement's verdict and its reason, from the verdicts of its checks in the run."""
    if not req.checks:
        return "not_checked", req.not_checked
    bad = [c for c in ran if c["verdict"] in ("failed", "error")]
    if bad:
        return "failed", "; ".join(f"{c['nodeid']} {c['verdict']}: {_first_line(c['reason'])}" for c in bad)
    passed = [c for c in ran if c["verdict"] == "passed"]
    if passed:
        return "passed", f"{len(passed)} of the {len(ran)} checks run passed" + _others(req, ran, passed)
    not_applicable = [c for c in ran if c["verdict"] == "not_applicable"]
    if not_applicable:
        return "not_applicable", "; ".join(f"{c['nodeid']}: {_first_line(c['reason'])}" for c in not_applicable)
    return "not_run", "none of its checks ran in this run"


def _others(req: Requirement, ran: list[dict[str, Any]], passed: list[dict[str, Any]]) -> str:
    """The mapped checks that did not pass: their verdicts, and those not in the run."""
    rest = [f"{c['nodeid']} {c['verdict']}" for c in ran if c not in passed]
    rest += [f"{i} not run" for i in req.checks if not any(maps(i, c["nodeid"]) for c in ran)]
    return "; " + "; ".join(rest) if rest else ""


def _evidence(check: dict[str, Any]) -> dict[str, Any]:
    return {
        "nodeid": check["nodeid"],
        "junit": junit_id(check["nodeid"]),
        "verdict": check["verdict"],
        "figures": {k: {"value": f["value"], "unit": f["unit"]} for k, f in check["figures"].items()},
        "reason": _first_line(check["reason"]),
    }


def figures_text(evidence: dict[str, Any]) -> str:
    """`name value unit, ...` of one check's figures."""
    return ", ".join(f"{k} {_num(f['value'])} {f['unit']}".rstrip() for k, f in evidence["figures"].items())


def answers(data: dict[str, Any]) -> dict[str, Any]:
    """The checklist's answers in its own shape (spec.<category>[]: id, level, status, evidence, notes),
    ready to paste into a submission: `status` is this harness's verdict, `evidence` points at the
    junit_01.xml test ids with their verdicts and figures."""
    t = of(data)
    spec: dict[str, list[dict[str, Any]]] = {}
    for row in t["requirements"]:
        evidence = [
            f"junit_01.xml {e['junit']}: {LABELS.get(e['verdict'], e['verdict'])}"
            + (f"; {figures_text(e)}" if e["figures"] else "")
            for e in row["evidence"]
        ]
        notes = [n for n in (row["reason"], row["note"]) if n]
        spec.setdefault(row["category"], []).append(
            {
                "id": row["id"],
                "level": row["level"],
                "status": LABELS.get(row["verdict"], row["verdict"]),
                "evidence": evidence,
                "notes": ". ".join(notes),
            }
        )
    return {
        "metadata": {
            "kubernetesVersion": t["version"],
            "harnessRun": data["run"]["id"],
            "harnessVersion": data["environment"]["harness_version"],
            "kubernetesServer": data["environment"].get("kubernetes_server"),
        },
        "spec": spec,
    }


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= 240 else line[:237] + "..."


def _num(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
