"""results.json: every check's record of a run. (The schema and the other report files: issue 11.)"""

from __future__ import annotations

import json
from pathlib import Path

from harness.report.record import CheckRecord

SCHEMA_VERSION = 1


def write_results(run_dir: Path, records: list[CheckRecord]) -> Path:
    path = run_dir / "results.json"
    data = {"schema_version": SCHEMA_VERSION, "checks": [r.to_json() for r in records]}
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return path
