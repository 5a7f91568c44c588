"""index.html: the run's report in one self-contained file (inline CSS and SVG, no scripts, no fetches).

Top: the conformance profile (counts per area) and the cluster setup it describes. Then the verdict
table, the AI conformance table (every requirement of the checklist), then each check with its
evidence, figures and plots: its series and load over time, latency and errors around each
disruption (the check's events as dashed lines), and the placement map.
"""

from __future__ import annotations

import datetime
from html import escape
from pathlib import Path
from typing import Any

from harness.report import ai_conformance, timing
from harness.report.schema import VERDICTS
from harness.report.svg import Chart, Line, line_chart, placement_map

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1100px; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; font-size: 14px; }
th { background: #f0f0f0; }
.passed { color: #186a1b; } .failed, .error { color: #b00020; font-weight: bold; }
.not_applicable, .not_run, .not_checked { color: #777; }
td.passed, td.failed, td.error, td.not_applicable, td.not_run { white-space: nowrap; }
.counts span { display: inline-block; margin-right: 1.5em; font-size: 20px; }
#ai-conformance-table td:nth-child(3) code { font-size: 12px; overflow-wrap: anywhere; }
#ai-conformance-table td:nth-child(3) { max-width: 320px; }
section.check { border-top: 1px solid #ddd; padding-top: 0.5em; margin-top: 1.5em; }
svg.plot { display: block; margin: 0.5em 0; }
pre { white-space: pre-wrap; background: #f7f7f7; padding: 0.5em; font-size: 13px; }
"""
ZOOM = (-15.0, 45.0)  # seconds before and after a disruption in its close-up
LABELS = {"passed": "passed", "failed": "failed", "not_applicable": "not applicable", "error": "error"}


def render(data: dict[str, Any]) -> str:
    checks = data["checks"]
    title = f"LLM-inference conformance: run {data['run']['id']}"
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>',
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f"<p>{_when(data['run']['started'])} to {_when(data['run']['finished'])}</p>",
        _profile(data),
        _setup(data),
        _time(checks),
        _verdicts(checks),
        _ai_conformance(data),
    ]
    parts.extend(_check(i, c, data.get("testbed")) for i, c in enumerate(checks))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html(run_dir: Path, data: dict[str, Any]) -> Path:
    path = run_dir / "index.html"
    path.write_text(render(data))
    return path


def _when(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _profile(data: dict[str, Any]) -> str:
    total = data["profile"]["total"]
    shown = [v for v in VERDICTS if v != "not_run" or total[v]]
    counts = "".join(f'<span class="{v}">{total[v]} {LABELS.get(v, v)}</span>' for v in shown)
    head = "".join(f"<th>{LABELS.get(v, v)}</th>" for v in shown)
    rows = "".join(
        f"<tr><td>{escape(area)}</td>"
        + "".join(f'<td class="{v if c[v] else ""}">{c[v]}</td>' for v in shown)
        + "</tr>"
        for area, c in data["profile"]["areas"].items()
    )
    return (
        f'<h2 id="profile">Conformance profile</h2><p class="counts">{counts}</p>'
        f'<table class="profile"><tr><th>area</th>{head}</tr>{rows}</table>'
    )


def _setup(data: dict[str, Any]) -> str:
    env = data["environment"]
    rows = [
        ("Kubernetes (server)", env.get("kubernetes_server")),
        ("node image", env.get("node_image")),
        ("image mode", env.get("image_mode")),
        ("harness", env.get("harness_version")),
        ("Python", env.get("python")),
        ("bring-up", env.get("bring_up")),
        ("stack install", env.get("stack")),
        ("timing", ", ".join(f"{k} {v}" for k, v in (env.get("timing") or {}).items())),
    ]
    pinned = data.get("versions", {})
    for name in ("lws", "kueue", "keda", "prometheus"):
        if isinstance(pinned.get(name), dict):
            rows.append((name, pinned[name].get("version")))
    table = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in rows if v)
    out = f'<h2 id="setup">Cluster setup</h2><table class="setup">{table}</table>'
    testbed = data.get("testbed")
    if testbed:
        nodes = "".join(
            f"<tr><td>{escape(n['name'])}</td><td>{n['role']}</td><td>{escape(n.get('rack') or '')}</td>"
            f"<td>{escape(n.get('zone') or '')}</td><td>{escape(n.get('profile') or '')}</td></tr>"
            for n in testbed["nodes"]
        )
        profiles = "".join(
            f"<tr><td>{escape(name)}</td><td>{p['gpus']} &times; {escape(p['gpu_model'])} ({escape(p['gpu_memory'])})"
            f"</td><td>{p['nics']} &times; {escape(p['nic_model'])}{' RDMA' if p['nic_rdma'] else ''}</td>"
            f"<td>{len(p['numa_nodes'])} NUMA, switches {[len(n) for n in p['numa_nodes']]}</td>"
            f"<td>{p['nvlink_cliques']}</td></tr>"
            for name, p in testbed["profiles"].items()
        )
        out += (
            f"<p>Testbed <b>{escape(testbed['name'])}</b> ({escape(testbed.get('source', ''))}), "
            f"Kubernetes {escape(testbed['kubernetes'])}.</p>"
            f'<table class="nodes"><tr><th>node</th><th>role</th><th>rack</th><th>zone</th><th>hardware</th></tr>'
            f"{nodes}</table>"
            f'<table class="hardware"><tr><th>profile</th><th>GPUs</th><th>NICs</th><th>NUMA</th>'
            f"<th>NVLink cliques</th></tr>{profiles}</table>"
        )
    return out


def _time(checks: list[dict[str, Any]]) -> str:
    """Where the time went, per area and kind (harness/report/timing.py)."""
    areas = timing.by_area(checks)
    if not areas:
        return ""
    head = "".join(f"<th>{timing.NAMES[k]}</th>" for k in timing.KINDS)
    rows = "".join(
        f"<tr><td>{escape(area)}</td><td>{timing.short(split['total'])}</td>"
        + "".join(f"<td>{timing.short(split[k])}</td>" for k in timing.KINDS)
        + "</tr>"
        for area, split in areas.items()
    )
    return (
        '<h2 id="time">Where the time went</h2><table class="time">'
        f"<tr><th>area</th><th>total</th>{head}</tr>{rows}</table>"
    )


def _verdicts(checks: list[dict[str, Any]]) -> str:
    rows = []
    for i, c in enumerate(checks):
        figures = ", ".join(f"{k} {_num(f['value'])} {f['unit']}" for k, f in c["figures"].items())
        diag = f' <a href="{escape(c["diagnostics"])}/">diagnostics</a>' if c.get("diagnostics") else ""
        rows.append(
            f'<tr><td>{escape(c["area"])}</td><td><a href="#check-{i}">{escape(c["check"])}</a></td>'
            f'<td class="{c["verdict"]}">{LABELS.get(c["verdict"], c["verdict"])}</td>'
            f"<td>{sum(timing.check_split(c).values()):.0f} s</td>"
            f"<td>{escape(figures)}</td><td>{escape(_first_line(c['reason']))}{diag}</td></tr>"
        )
    return (
        '<h2 id="verdicts">Verdicts</h2><table id="verdict-table"><tr><th>area</th><th>check</th>'
        f"<th>verdict</th><th>time</th><th>figures</th><th>reason</th></tr>{''.join(rows)}</table>"
    )


def _ai_conformance(data: dict[str, Any]) -> str:
    """Every requirement of the AI conformance checklist, its checks' verdicts and figures, linked."""
    table = ai_conformance.of(data)
    anchors = {c["nodeid"]: i for i, c in enumerate(data["checks"])}
    rows = []
    for r in table["requirements"]:
        checks = (
            "<br>".join(f'<code title="{escape(c)}">{escape(c.rsplit("::", 1)[-1])}</code>' for c in r["checks"])
            or "none"
        )
        evidence = [
            f'<a href="#check-{anchors[e["nodeid"]]}">{escape(e["nodeid"].rsplit("::", 1)[-1])}</a> '
            f'<span class="{e["verdict"]}">{LABELS.get(e["verdict"], e["verdict"])}</span>'
            + (f": {escape(ai_conformance.figures_text(e))}" if e["figures"] else "")
            for e in r["evidence"]
            if e["nodeid"] in anchors
        ]
        if r["verdict"] != "passed" and r["reason"]:
            evidence.append(escape(r["reason"]))
        if r["note"]:
            evidence.append(f"<i>{escape(r['note'])}</i>")
        verdict = ai_conformance.LABELS.get(r["verdict"], r["verdict"])
        rows.append(
            f'<tr><td title="{escape(r["description"])}"><code>{escape(r["id"])}</code></td><td>{r["level"]}</td>'
            f'<td>{checks}</td><td class="{r["verdict"]}">{escape(verdict)}</td><td>{"<br>".join(evidence)}</td></tr>'
        )
    return (
        f'<h2 id="ai-conformance">AI conformance ({escape(table["version"])})</h2>'
        f"<p>{escape(table['checklist'])} checklist, {escape(table['source'])}: every requirement, "
        "with the checks of this run that evidence it.</p>"
        '<table id="ai-conformance-table"><tr><th>requirement</th><th>level</th><th>checks</th><th>verdict</th>'
        f"<th>evidence</th></tr>{''.join(rows)}</table>"
    )


def _check(i: int, c: dict[str, Any], testbed: dict[str, Any] | None) -> str:
    out = [
        f'<section class="check" id="check-{i}"><h3>{escape(c["check"])} '
        f'<span class="{c["verdict"]}">({LABELS.get(c["verdict"], c["verdict"])})</span></h3>',
        f"<p><code>{escape(c['nodeid'])}</code>{' · disruptive' if c.get('disruptive') else ''}</p>",
    ]
    if c["reason"]:
        out.append(f"<pre>{escape(c['reason'][:4000])}</pre>")
    if c.get("diagnostics"):
        out.append(f'<p>Diagnostics: <a href="{escape(c["diagnostics"])}/">{escape(c["diagnostics"])}/</a></p>')
    if c["evidence"]:
        out.append("<ul class='evidence'>" + "".join(f"<li>{escape(e)}</li>" for e in c["evidence"]) + "</ul>")
    if c["figures"]:
        out.append(
            "<table class='figures'><tr><th>figure</th><th>value</th><th>note</th></tr>"
            + "".join(
                f"<tr><td>{escape(k)}</td><td>{_num(f['value'])} {escape(f['unit'])}</td>"
                f"<td>{escape(f.get('note', ''))}</td></tr>"
                for k, f in c["figures"].items()
            )
            + "</table>"
        )
    out.append(_steps(c))
    out.extend(line_chart(chart) for chart in charts(c))
    if c.get("placements"):
        out.append("<h4>Placement</h4>" + placement_map(c["placements"], testbed))
    for name, load in c.get("loads", {}).items():
        s = load["summary"]
        csv = " ".join(f'<a href="{escape(p)}">{escape(Path(p).name)}</a>' for p in load["csv"])
        out.append(
            f"<p class='load'>load <b>{escape(name)}</b>: {s['requests']} requests, {s['failed']} failed, "
            f"TTFT p50 {_ms(s['ttft']['p50'])}, ITL p50 {_ms(s['itl']['p50'])}, e2e p99 {_ms(s['e2e']['p99'])}. "
            f"{csv}</p>"
        )
    out.append("</section>")
    return "".join(out)


def _steps(c: dict[str, Any]) -> str:
    """The check's timeline of named steps (record.step), indented by nesting, and its time split."""
    split = timing.check_split(c)
    parts = ", ".join(f"{timing.NAMES[k]} {split[k]:.1f} s" for k in timing.KINDS)
    out = f"<p class='timing'>time: {sum(split.values()):.1f} s ({parts})</p>"
    if not c.get("steps"):
        return out
    origin = c.get("started") or c["steps"][0]["started"]
    rows = "".join(
        f"<tr><td>{s['started'] - origin:.1f}</td><td>{_step_seconds(s)}</td><td>{s['kind']}</td>"
        f"<td style='padding-left:{8 + 16 * s.get('depth', 0)}px'>{escape(s['label'])}</td></tr>"
        for s in c["steps"]
    )
    return out + (
        "<table class='steps'><tr><th>at (s)</th><th>took (s)</th><th>kind</th><th>step</th></tr>" + rows + "</table>"
    )


def _step_seconds(step: dict[str, Any]) -> str:
    return "&ndash;" if step.get("finished") is None else f"{step['finished'] - step['started']:.1f}"


def charts(c: dict[str, Any]) -> list[Chart]:
    """The check's plots, all on one clock (seconds since the check started) so that events line up:
    its recorded series with the load's in-flight requests; latency; successes and errors per second."""
    origin = c.get("started") or min(
        [p[0] for s in c["series"].values() for p in s["points"]] + [e["at"] for e in c["events"]], default=0.0
    )
    marks = [(e["label"], e["at"] - origin) for e in c["events"]]
    over_time = [
        Line(_series_label(name, s), [(t - origin, v) for t, v in s["points"]], step=True)
        for name, s in c["series"].items()
    ]
    latency: list[Line] = []
    errors: list[Line] = []
    for name, load in c.get("loads", {}).items():
        s = load["summary"]
        start = s.get("started", origin) - origin
        timeline = s.get("timeline", [])
        in_flight = [(start + p["second"], p["in_flight"]) for p in timeline]
        over_time.append(Line(f"{name}: in flight", in_flight, step=True))
        for key, label in (("ttft_p50", "TTFT p50"), ("itl_p50", "ITL p50")):
            points = [(start + p["second"], p[key] * 1000) for p in timeline if p.get(key) is not None]
            latency.append(Line(f"{name}: {label}", points))
        errors.append(Line(f"{name}: failed/s", [(start + p["second"], p["failed"]) for p in timeline]))
        errors.append(Line(f"{name}: succeeded/s", [(start + p["second"], p["succeeded"]) for p in timeline]))
    units = sorted({s["unit"] for s in c["series"].values()})
    result = []
    if over_time:
        unit = " / ".join(units + (["requests"] if c.get("loads") else []))
        result.append(Chart("series and load over time", unit, over_time, marks, "over-time"))
    if latency:
        result.append(Chart("latency around disruptions", "ms", latency, marks, "latency"))
    if errors:
        result.append(Chart("requests and errors around disruptions", "requests/s", errors, marks, "errors"))
    span = max((x for line in latency + errors for x, _ in line.points), default=0.0)
    if span > 2 * ZOOM[1]:  # a long load: each disruption also gets close-ups of its own
        for label, at in marks:
            window = (at + ZOOM[0], at + ZOOM[1])
            for lines, unit in ((latency, "ms"), (errors, "requests/s")):
                clipped = [Line(w.label, [(x, y) for x, y in w.points if window[0] <= x <= window[1]]) for w in lines]
                result.append(Chart(f"around {label}", unit, clipped, [(label, at)], "disruption", x_range=window))
    return result


def _series_label(name: str, series: dict[str, Any]) -> str:
    labels = ",".join(f"{v}" for v in series.get("labels", {}).values())
    return f"{name} ({labels})" if labels else name


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= 200 else line[:197] + "..."


def _num(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def _ms(seconds: float | None) -> str:
    return "&ndash;" if seconds is None else f"{seconds * 1000:.0f} ms"
