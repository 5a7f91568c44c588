"""`harness report ...`: re-render a run's report, validate results.json, build the trend page, and print
the Kubernetes AI Conformance checklist answers."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from harness.cli import FAILED, OK, CommandError, Subcommands, command, existing, subcommands


def add_commands(sub: Subcommands) -> None:
    report = subcommands(command(sub, "report", "conformance reports"))
    trend = command(report, "trend", "many runs' results.json -> one trend page (HTML); exit 1 if no run is found")
    trend.add_argument("dirs", nargs="+", metavar="DIR", help="run folders, or folders of run folders (reports/)")
    trend.add_argument("--out", required=True, metavar="FILE", help="the HTML page to write")
    render = command(report, "render", "write summary.md and index.html again from a run's results.json")
    render.add_argument("run_dir", metavar="DIR", help="a run folder (reports/<run-id>, reports/latest)")
    validate = command(report, "validate", "check results.json files against the schema; exit 1 if not")
    validate.add_argument("files", nargs="+", metavar="FILE", help="results.json, or a run folder holding one")
    command(report, "schema", "print the results.json JSON Schema")
    answers = command(
        report,
        "ai-conformance",
        "print a run's Kubernetes AI Conformance checklist answers (YAML, the checklist's shape) with evidence",
    )
    answers.add_argument("run_dir", metavar="DIR", help="a run folder (reports/<run-id>, reports/latest)")


def trend(args: argparse.Namespace) -> int:
    from harness.report.trend import write_trend

    count = write_trend([existing(d) for d in args.dirs], Path(args.out))
    print(f"{args.out}: {count} runs")
    return OK if count else FAILED


def render(args: argparse.Namespace) -> int:
    from harness.report.html import write_html
    from harness.report.results import read_results
    from harness.report.summary import write_summary

    run_dir = existing(args.run_dir)
    existing(str(run_dir / "results.json"))
    data = read_results(run_dir)
    print(write_summary(run_dir, data))
    print(write_html(run_dir, data))
    return OK


def validate(args: argparse.Namespace) -> int:
    from harness.report.schema import problems

    files = [_results_file(file) for file in args.files]
    failed = 0
    for file, path in zip(args.files, files, strict=True):
        try:
            found = problems(json.loads(path.read_text()))
        except json.JSONDecodeError as e:
            found = [f"not JSON: {e}"]
        for line in found:
            print(f"{file}: {line}", file=sys.stderr)
        print(f"{file}: {'ok' if not found else f'{len(found)} problems'}")
        failed += bool(found)
    return FAILED if failed else OK


def _results_file(name: str) -> Path:
    path = existing(name)
    if path.is_dir():
        path = path / "results.json"
        if not path.is_file():
            raise CommandError(f"{name}: no results.json in this folder")
    return path


def schema(args: argparse.Namespace) -> int:
    from harness.report.schema import SCHEMA

    print(json.dumps(SCHEMA, indent=2))
    return OK


def ai_conformance(args: argparse.Namespace) -> int:
    import yaml

    from harness.report.ai_conformance import answers
    from harness.report.schema import problems

    path = _results_file(args.run_dir)
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise CommandError(f"{path}: not JSON: {e}") from None
    found = problems(data)
    if found:
        raise CommandError(f"{path}: not a results.json this harness reads: {found[0]}")
    print(yaml.safe_dump(answers(data), sort_keys=False, allow_unicode=True, width=120), end="")
    return OK


COMMANDS = {
    ("report", "trend"): trend,
    ("report", "render"): render,
    ("report", "validate"): validate,
    ("report", "schema"): schema,
    ("report", "ai-conformance"): ai_conformance,
}
