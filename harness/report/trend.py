"""The trend page: many runs' results.json side by side, for nightly CI.

`harness report trend DIR... --out FILE`. Each DIR is a run folder (with results.json) or a folder of
run folders (reports/). The page shows each run's profile, the checks whose verdict changed between
runs, and every figure over the runs (oldest first).
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from harness.report.html import LABELS, STYLE
from harness.report.results import read_results
from harness.report.svg import Chart, Line, line_chart


def find_runs(dirs: list[Path]) -> list[dict[str, Any]]:
    """Every readable results.json under the given folders, oldest run first (duplicates once)."""
    files: set[Path] = set()
    for d in dirs:
        if (d / "results.json").is_file():
            files.add((d / "results.json").resolve())
        elif d.is_file():
            files.add(d.resolve())
        else:
            files.update(p.resolve() for p in d.glob("*/results.json"))
    runs = [read_results(f) for f in sorted(files)]
    return sorted(runs, key=lambda r: r["run"]["started"])


def changed_verdicts(runs: list[dict[str, Any]]) -> dict[str, list[str | None]]:
    """nodeid -> its verdict in each run (None: not in that run), for checks whose verdict changed."""
    history: dict[str, list[str | None]] = {}
    for i, run in enumerate(runs):
        for c in run["checks"]:
            history.setdefault(c["nodeid"], [None] * len(runs))[i] = c["verdict"]
    return {k: v for k, v in sorted(history.items()) if len({x for x in v if x is not None}) > 1}


def figure_series(runs: list[dict[str, Any]]) -> dict[tuple[str, str, str], list[tuple[float, float]]]:
    """(check, figure, unit) -> [(run index, value)]."""
    out: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
    for i, run in enumerate(runs):
        for c in run["checks"]:
            for name, f in c["figures"].items():
                out.setdefault((c["check"], name, f["unit"]), []).append((float(i), f["value"]))
    return dict(sorted(out.items()))


def render(runs: list[dict[str, Any]]) -> str:
    head = "<th>#</th><th>run</th><th>Kubernetes</th><th>passed</th><th>failed</th><th>error</th><th>n/a</th>"
    rows = "".join(
        f"<tr><td>{i}</td><td>{escape(r['run']['id'])}</td>"
        f"<td>{escape(str(r['environment'].get('kubernetes_server') or ''))}</td>"
        + "".join(
            f'<td class="{v if r["profile"]["total"][v] else ""}">{r["profile"]["total"][v]}</td>'
            for v in ("passed", "failed", "error", "not_applicable")
        )
        + "</tr>"
        for i, r in enumerate(runs)
    )
    changed = changed_verdicts(runs)
    names = {c["nodeid"]: c["check"] for r in runs for c in r["checks"]}
    change_rows = "".join(
        f"<tr><td>{escape(names[k])}<br><code>{escape(k)}</code></td>"
        + "".join(f'<td class="{v or "not_run"}">{LABELS.get(v, v) if v else "&ndash;"}</td>' for v in verdicts)
        + "</tr>"
        for k, verdicts in changed.items()
    )
    run_heads = "".join(f"<th>{i}</th>" for i in range(len(runs)))
    charts = "".join(
        f"<h4>{escape(check)}: {escape(name)}</h4>"
        + line_chart(
            Chart(
                f"{name} over runs",
                unit,
                [Line(name, points)],
                kind="trend",
                x_label="run",
                x_range=(0, max(1, len(runs) - 1)),
                integer_x=True,
            )
        )
        for (check, name, unit), points in figure_series(runs).items()
    )
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8"><title>Conformance trend</title>',
            f"<style>{STYLE}</style></head><body>",
            f"<h1>Conformance trend: {len(runs)} runs</h1>",
            f'<table id="runs"><tr>{head}</tr>{rows}</table>',
            "<h2>Checks that changed verdict</h2>",
            f'<table id="changes"><tr><th>check</th>{run_heads}</tr>{change_rows}</table>'
            if changed
            else "<p>No check changed its verdict.</p>",
            "<h2>Figures over runs</h2>",
            charts or "<p>No figures recorded.</p>",
            "</body></html>",
        ]
    )


def write_trend(dirs: list[Path], out: Path) -> int:
    """Write the trend page; returns how many runs it covers."""
    runs = find_runs(dirs)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(runs))
    return len(runs)
