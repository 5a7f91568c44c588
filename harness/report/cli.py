"""`harness report ...`: re-render a run's report, validate results.json, and build the trend page."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = sub.add_parser("report", help="conformance reports").add_subparsers(dest="command", required=True)
    trend = report.add_parser("trend", help="many runs' results.json -> one trend page (HTML)")
    trend.add_argument("dirs", nargs="+", metavar="DIR", help="run folders, or folders of run folders (reports/)")
    trend.add_argument("--out", required=True, metavar="FILE")
    render = report.add_parser("render", help="write summary.md and index.html again from a run's results.json")
    render.add_argument("run_dir", metavar="DIR")
    validate = report.add_parser("validate", help="check results.json files against the schema; exit 1 if not")
    validate.add_argument("files", nargs="+", metavar="FILE")
    report.add_parser("schema", help="print the results.json JSON Schema")


def trend(args: argparse.Namespace) -> int:
    from harness.report.trend import write_trend

    count = write_trend([Path(d) for d in args.dirs], Path(args.out))
    print(f"{args.out}: {count} runs")
    return 0 if count else 1


def render(args: argparse.Namespace) -> int:
    from harness.report.html import write_html
    from harness.report.results import read_results
    from harness.report.summary import write_summary

    run_dir = Path(args.run_dir)
    data = read_results(run_dir)
    print(write_summary(run_dir, data))
    print(write_html(run_dir, data))
    return 0


def validate(args: argparse.Namespace) -> int:
    from harness.report.schema import problems

    failed = 0
    for file in args.files:
        path = Path(file)
        found = problems(json.loads((path / "results.json" if path.is_dir() else path).read_text()))
        for line in found:
            print(f"{file}: {line}", file=sys.stderr)
        print(f"{file}: {'ok' if not found else f'{len(found)} problems'}")
        failed += bool(found)
    return 1 if failed else 0


def schema(args: argparse.Namespace) -> int:
    from harness.report.schema import SCHEMA

    print(json.dumps(SCHEMA, indent=2))
    return 0


COMMANDS = {
    ("report", "trend"): trend,
    ("report", "render"): render,
    ("report", "validate"): validate,
    ("report", "schema"): schema,
}
