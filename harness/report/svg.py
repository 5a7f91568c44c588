"""Hand-written inline SVG plots: time charts with disruption markers, and the placement map.

No plotting dependency: the report must render offline, in one file, from the standard library.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from html import escape
from typing import Any

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"]
WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 36


@dataclass
class Line:
    label: str
    points: list[tuple[float, float]]  # (seconds from the chart's origin, value)
    step: bool = False  # a count that holds until the next point (replicas, pods bound)


@dataclass
class Chart:
    title: str
    unit: str
    lines: list[Line]
    marks: list[tuple[str, float]] = field(default_factory=list)  # (label, seconds from origin)
    kind: str = "chart"  # a CSS class: what the chart shows (over-time, latency, errors, trend)
    x_label: str = "seconds"
    x_range: tuple[float, float] | None = None  # default: the data's
    integer_x: bool = False  # x counts something (runs): only whole ticks


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten apart) within [low, high]."""
    if high <= low:
        return [low]
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 1)]


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.2g}"


def line_chart(chart: Chart) -> str:
    """A chart of one or more lines against seconds, with a vertical dashed line per mark."""
    xs = [x for line in chart.lines for x, _ in line.points] + [x for _, x in chart.marks]
    ys = [y for line in chart.lines for _, y in line.points]
    x0, x1 = chart.x_range or ((min(xs), max(xs)) if xs else (0.0, 1.0))
    y0, y1 = min([0.0, *ys]), max([1e-9, *ys])
    x1 = x1 if x1 > x0 else x0 + 1
    y1 = y1 * 1.05 if y1 > 0 else 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def sx(x: float) -> float:
        return LEFT + (x - x0) / (x1 - x0) * plot_w

    def sy(y: float) -> float:
        return TOP + plot_h - (y - y0) / (y1 - y0) * plot_h

    out = [
        f'<svg class="plot {escape(chart.kind)}" role="img" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}">',
        f"<title>{escape(chart.title)}</title>",
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fafafa" stroke="#ccc"/>',
    ]
    for y in _ticks(y0, y1):
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{LEFT - 4}" y="{sy(y) + 4:.1f}" text-anchor="end" font-size="11">{_fmt(y)}</text>')
    for x in _ticks(x0, x1, 8):
        if chart.integer_x and x != int(x):
            continue
        out.append(f'<text x="{sx(x):.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle" font-size="11">')
        out.append(f"{_fmt(x)}</text>")
    out.append(
        f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 4}" text-anchor="middle" font-size="11">'
        f"{escape(chart.x_label)}</text>"
        f'<text x="12" y="{TOP + plot_h / 2}" font-size="11" transform="rotate(-90 12 {TOP + plot_h / 2})" '
        f'text-anchor="middle">{escape(chart.unit)}</text>'
    )
    for label, x in chart.marks:
        out.append(
            f'<line class="mark" x1="{sx(x):.1f}" x2="{sx(x):.1f}" y1="{TOP}" y2="{TOP + plot_h}" '
            f'stroke="#000" stroke-dasharray="4 3"><title>{escape(label)} at {x:.1f} s</title></line>'
            f'<text x="{sx(x) + 3:.1f}" y="{TOP + 11}" font-size="10">{escape(label[:24])}</text>'
        )
    for i, line in enumerate(chart.lines):
        colour = COLOURS[i % len(COLOURS)]
        ordered = sorted(line.points)
        if line.step:  # hold each value until the next point: counts change in steps
            ordered = [p for (x, y), (nx, _) in itertools.pairwise(ordered) for p in ((x, y), (nx, y))]
            ordered += sorted(line.points)[-1:]
        points = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in ordered)
        if len(line.points) == 1:
            ((x, y),) = line.points
            out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{colour}"/>')
        out.append(f'<polyline class="line" fill="none" stroke="{colour}" stroke-width="2" points="{points}">')
        out.append(f"<title>{escape(line.label)}</title></polyline>")
        out.append(
            f'<rect x="{LEFT + 8 + 150 * i}" y="{TOP + 20}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{LEFT + 22 + 150 * i}" y="{TOP + 29}" font-size="11">{escape(line.label[:22])}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def placement_map(placements: list[dict[str, Any]], testbed: dict[str, Any] | None) -> str:
    """Racks side by side; in each, its nodes; in each node, its NUMA nodes holding the groups' devices.

    Every node of the testbed is drawn (empty ones too) so that a group's spread, or a rack left idle,
    shows at a glance. Each group has one colour."""
    nodes: dict[str, dict[str, Any]] = {}
    for n in (testbed or {}).get("nodes", []):
        if n["role"] == "worker":
            nodes[n["name"]] = {"rack": n.get("rack") or "-", "numa": _numa_count(testbed, n.get("profile"))}
    for p in placements:
        node = nodes.setdefault(p["node"], {"rack": p["rack"], "numa": 1})
        if p.get("numa") is not None:
            node["numa"] = max(node["numa"], p["numa"] + 1)
    groups = sorted({p["group"] for p in placements})
    colour = {g: COLOURS[i % len(COLOURS)] for i, g in enumerate(groups)}
    racks: dict[str, list[str]] = {}
    for name, node in sorted(nodes.items()):
        racks.setdefault(node["rack"], []).append(name)
    node_w, numa_h, pad = 170, 70, 10
    height = 40 + max((len(ns) for ns in racks.values()), default=1) * (numa_h * 2 + 40) + 30
    width = max(len(racks), 1) * (node_w + 3 * pad) + pad
    out = [
        f'<svg class="plot placement-map" role="img" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}"><title>placement map</title>'
    ]
    for r, (rack, names) in enumerate(sorted(racks.items())):
        rx = pad + r * (node_w + 3 * pad)
        out.append(
            f'<rect x="{rx}" y="4" width="{node_w + 2 * pad}" height="{height - 34}" fill="none" stroke="#999"/>'
            f'<text x="{rx + 6}" y="20" font-size="12" font-weight="bold">{escape(rack)}</text>'
        )
        y = 30
        for name in names:
            numas = nodes[name]["numa"]
            out.append(
                f'<rect x="{rx + pad}" y="{y}" width="{node_w}" height="{numas * numa_h + 24}" fill="#f4f4f4" '
                f'stroke="#666"/><text x="{rx + pad + 4}" y="{y + 14}" font-size="11">{escape(name)}</text>'
            )
            for numa in range(numas):
                ny = y + 20 + numa * numa_h
                out.append(
                    f'<rect x="{rx + pad + 4}" y="{ny}" width="{node_w - 8}" height="{numa_h - 4}" fill="#fff" '
                    f'stroke="#bbb"/><text x="{rx + pad + 8}" y="{ny + 12}" font-size="10">NUMA {numa}</text>'
                )
                here = [p for p in placements if p["node"] == name and (p.get("numa") or 0) == numa]
                out.extend(_chips(here, colour, rx + pad + 8, ny + 18, node_w - 16))
            y += numas * numa_h + 40
    for i, g in enumerate(groups):
        out.append(
            f'<rect x="{pad + 110 * i}" y="{height - 20}" width="10" height="10" fill="{colour[g]}"/>'
            f'<text x="{pad + 14 + 110 * i}" y="{height - 11}" font-size="11">{escape(g[:14])}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def _chips(placements: list[dict[str, Any]], colour: dict[str, str], x: float, y: float, width: float) -> list[str]:
    """One small square per device (or per pod, for a placement without devices)."""
    out: list[str] = []
    i = 0
    for p in placements:
        for device in p.get("devices") or [p.get("pod") or p["group"]]:
            cx, cy = x + (i % 8) * (width / 8), y + (i // 8) * 16
            out.append(
                f'<rect class="chip" x="{cx:.1f}" y="{cy:.1f}" width="{width / 8 - 3:.1f}" height="13" '
                f'fill="{colour[p["group"]]}"><title>{escape(p["group"])} {escape(p.get("pod", ""))} '
                f"{escape(device)}</title></rect>"
            )
            i += 1
    return out


def _numa_count(testbed: dict[str, Any] | None, profile: str | None) -> int:
    if not testbed or not profile or profile not in testbed.get("profiles", {}):
        return 1
    return max(1, len(testbed["profiles"][profile]["numa_nodes"]))
