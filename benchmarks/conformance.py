"""How long the main job takes, warm: runs `tox -e conformance` N times and prints min/median/max per
suite (area) and per kind of time (set-up, waiting for the cluster, observation, other), from each
run's results.json, and the wall time of each whole run.

    python benchmarks/conformance.py                   # 3 warm runs of tox -e conformance
    python benchmarks/conformance.py --runs 5 -- -k 'not upgrade'   # args after -- go to pytest
    python benchmarks/conformance.py --reports reports/20261130-010203 reports/20261130-013040   # no run

Warm means the images exist already (a first, cold run builds them: run it once before). Each run
creates and deletes its own testbed, as CI does; every run is bounded by --timeout.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from harness.report.timing import KINDS, NAMES, by_area

ROOT = Path(__file__).resolve().parents[1]


def one_run(reports: Path, timeout: float, pytest_args: list[str]) -> tuple[Path, float]:
    """Run `tox -e conformance` once; its run folder (the newest under `reports`) and its wall seconds."""
    before = set(reports.glob("*/results.json")) if reports.is_dir() else set()
    started = time.monotonic()
    command = ["tox", "-e", "conformance", *(["--", *pytest_args] if pytest_args else [])]
    proc = subprocess.run(command, cwd=ROOT, timeout=timeout, check=False)
    wall = time.monotonic() - started
    new = sorted(set(reports.glob("*/results.json")) - before)
    if not new:
        sys.exit(f"{' '.join(command)} exited {proc.returncode} and wrote no results.json under {reports}")
    if proc.returncode != 0:
        print(f"note: run {new[-1].parent.name} exited {proc.returncode} (its failures still count)", file=sys.stderr)
    return new[-1].parent, wall


def figures(run_dir: Path) -> dict[str, float]:
    """One run's seconds: per area (`area`), per kind (`kind:<kind>`) and the pytest session (`session`)."""
    data: dict[str, Any] = json.loads((run_dir / "results.json").read_text())
    areas = by_area(data["checks"])
    out = {area: split["total"] for area, split in areas.items()}
    for kind in KINDS:
        out[f"kind:{kind}"] = sum(split[kind] for split in areas.values())
    out["session"] = data["run"]["finished"] - data["run"]["started"]
    return out


def table(runs: list[dict[str, float]]) -> str:
    keys = list(dict.fromkeys(k for run in runs for k in run))
    lines = [f"{'':24} {'min':>8} {'median':>8} {'max':>8}   ({len(runs)} runs, seconds)"]
    for key in keys:
        values = [run[key] for run in runs if key in run]
        name = NAMES[key.removeprefix("kind:")] if key.startswith("kind:") else key
        lines.append(f"{name:24} {min(values):8.0f} {statistics.median(values):8.0f} {max(values):8.0f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds one run may take (default 3600)")
    parser.add_argument("--reports", nargs="+", type=Path, help="summarise these run folders instead of running")
    parser.add_argument("pytest_args", nargs="*", help="after --: passed to pytest through tox")
    args = parser.parse_args()
    runs: list[dict[str, float]] = []
    if args.reports:
        runs = [figures(run_dir) for run_dir in args.reports]
    else:
        for i in range(args.runs):
            run_dir, wall = one_run(ROOT / "reports", args.timeout, args.pytest_args)
            runs.append({**figures(run_dir), "tox": wall})
            print(f"run {i + 1}/{args.runs}: {run_dir.name}, {wall:.0f} s", file=sys.stderr)
    print(table(runs))


if __name__ == "__main__":
    main()
