"""summary.md: the run in a few lines of Markdown, fit for a PR comment or a nightly mail.

The profile and the failures come first and stay short; the full verdict table and the figures sit in
a collapsed <details> block (GitHub renders it; plain Markdown readers still see it).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from harness.report import ai_conformance, timing
from harness.report.schema import AI_VERDICTS, VERDICTS

ICONS = {"passed": "✅", "failed": "❌", "error": "💥", "not_applicable": "⚪", "not_run": "⏸"}
AI_ICONS = {"passed": "✅", "failed": "❌", "not_applicable": "⚪", "not_run": "⏸", "not_checked": "⚫"}
NAMES = {"not_applicable": "not applicable", "not_run": "not run"}


def render(data: dict[str, Any]) -> str:
    total = data["profile"]["total"]
    env = data["environment"]
    testbed = data.get("testbed")
    counts = ", ".join(f"{total[v]} {NAMES.get(v, v)}" for v in VERDICTS if total[v] or v in ("passed", "failed"))
    lines = [f"## Conformance run {data['run']['id']}: {counts}", ""]
    kubernetes = env.get("kubernetes_server") or (testbed or {}).get("kubernetes")
    setup = [f"Kubernetes {kubernetes}" if kubernetes else "no cluster used"]
    if testbed:
        workers = [n for n in testbed["nodes"] if n["role"] == "worker"]
        racks = sorted({n["rack"] for n in workers if n.get("rack")})
        gpus = sum(testbed["profiles"][n["profile"]]["gpus"] for n in workers if n.get("profile"))
        shape = f"{_count(len(workers), 'worker')} in {_count(len(racks), 'rack')}, {_count(gpus, 'GPU')}"
        setup.insert(0, f"testbed `{testbed['name']}`: {shape}")
    if env.get("image_mode"):
        setup.append(f"image mode {env['image_mode']}")
    setup.append(f"harness {env['harness_version']}")
    lines += ["; ".join(setup) + ".", ""]
    if env.get("timing"):
        lines += ["Cluster timing: " + ", ".join(f"{k} {v}" for k, v in env["timing"].items()) + ".", ""]

    shown = [v for v in VERDICTS if v != "not_run" or total[v]]
    lines.append("| area | " + " | ".join(NAMES.get(v, v) for v in shown) + " |")
    lines.append("|---|" + "---:|" * len(shown))
    for area, c in data["profile"]["areas"].items():
        lines.append(f"| {area} | " + " | ".join(str(c[v]) for v in shown) + " |")
    lines.append("")

    lines += time_table(data["checks"])

    bad = [c for c in data["checks"] if c["verdict"] in ("failed", "error")]
    if bad:
        lines.append("### Failed")
        for c in bad:
            diag = f" (diagnostics: `{c['diagnostics']}`)" if c.get("diagnostics") else ""
            lines.append(f"- {ICONS[c['verdict']]} **{c['area']}**: {c['check']} — {_one_line(c['reason'])}{diag}")
        lines.append("")
    skipped = [c for c in data["checks"] if c["verdict"] == "not_applicable"]
    if skipped:
        lines.append("### Not applicable to this cluster")
        lines += [f"- {c['area']}: {c['check']} — {_one_line(c['reason'])}" for c in skipped]
        lines.append("")

    lines += ai_conformance_table(data)

    lines += ["<details><summary>All checks and figures</summary>", "", "| | area | check | time | figures |"]
    lines.append("|---|---|---|---|---|")
    for c in data["checks"]:
        figures = ", ".join(f"{k} {_num(f['value'])} {f['unit']}" for k, f in c["figures"].items())
        split = timing.check_split(c)
        spent = f"{sum(split.values()):.0f} s (" + " / ".join(f"{split[k]:.0f}" for k in timing.KINDS) + ")"
        lines.append(
            f"| {ICONS.get(c['verdict'], '?')} | {c['area']} | {_cell(c['check'])} | {spent} | {_cell(figures)} |"
        )
    lines.append("")
    lines.append("time: total (" + " / ".join(timing.NAMES[k] for k in timing.KINDS) + "), seconds")
    lines += ["", "</details>", ""]
    return "\n".join(lines)


def ai_conformance_table(data: dict[str, Any]) -> list[str]:
    """Every requirement of the AI conformance checklist: level, checks, verdict and the evidence."""
    table = ai_conformance.of(data)
    rows = table["requirements"]
    counts = Counter(r["verdict"] for r in rows)
    head = ", ".join(f"{counts[v]} {ai_conformance.LABELS.get(v, v)}" for v in AI_VERDICTS if counts[v])
    lines = [f"### AI conformance ({table['version']}): {head}", ""]
    lines += ["| requirement | level | checks | verdict | evidence |", "|---|---|---|---|---|"]
    for r in rows:
        checks = "<br>".join(f"`{c.removeprefix('suites/')}`" for c in r["checks"]) or "none"
        evidence = [
            f"{ICONS.get(e['verdict'], '?')} `{e['nodeid'].rsplit('::', 1)[-1]}`"
            + (f": {ai_conformance.figures_text(e)}" if e["figures"] else "")
            for e in r["evidence"]
        ]
        if r["verdict"] != "passed" and r["reason"]:
            evidence.append(_one_line(r["reason"]))
        if r["note"]:
            evidence.append(f"_{_cell(r['note'])}_")
        verdict = f"{AI_ICONS[r['verdict']]} {ai_conformance.LABELS.get(r['verdict'], r['verdict'])}"
        lines.append(f"| `{r['id']}` | {r['level']} | {checks} | {verdict} | {'<br>'.join(evidence)} |")
    return [*lines, ""]


def time_table(checks: list[dict[str, Any]]) -> list[str]:
    """Where the time went, per area: set-up, waiting for the cluster, observation, other."""
    areas = timing.by_area(checks)
    if not areas:
        return []
    head = " | ".join(timing.NAMES[k] for k in timing.KINDS)
    lines = ["### Where the time went", "", f"| area | total | {head} |", "|---|" + "---:|" * (len(timing.KINDS) + 1)]
    total = {k: sum(a[k] for a in areas.values()) for k in (*timing.KINDS, "total")}
    for area, split in [*areas.items(), ("**all**", total)]:
        cells = " | ".join(timing.short(split[k]) for k in ("total", *timing.KINDS))
        lines.append(f"| {area} | {cells} |")
    return [*lines, ""]


def write_summary(run_dir: Path, data: dict[str, Any]) -> Path:
    path = run_dir / "summary.md"
    path.write_text(render(data))
    return path


def _one_line(text: str, limit: int = 240) -> str:
    line = " ".join(text.split())
    return _cell(line if len(line) <= limit else line[: limit - 3] + "...")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _num(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
