"""Build steps cached by their inputs: an unchanged step is skipped, a changed one redone."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any


def cache_dir() -> Path:
    """Where builds are kept between runs (`LLMC_CACHE_DIR`, else ~/.cache/llm-conformance)."""
    root = (
        os.environ.get("LLMC_CACHE_DIR")
        or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "llm-conformance"
    )
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def digest(inputs: Any) -> str:
    """A short, stable hash of JSON-able inputs (file contents are passed in as text or digests)."""
    blob = json.dumps(inputs, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def file_digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(paths):
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            h.update(str(f.relative_to(path.parent)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def log_file(action: str, name: str) -> Path:
    """Where a command's output is kept while it runs and after (progress shows its last line)."""
    folder = cache_dir() / "logs"
    folder.mkdir(exist_ok=True)
    return folder / f"{action}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.log"


class Step:
    """A build step whose output folder is named by the digest of its inputs."""

    def __init__(self, name: str, inputs: Any) -> None:
        self.name = name
        self.key = digest(inputs)
        self.output = cache_dir() / "steps" / f"{name}-{self.key}"
        self._marker = self.output.with_suffix(".done")

    def done(self) -> bool:
        return self._marker.exists()

    def finish(self, **figures: float) -> None:
        self._marker.write_text(json.dumps({"finished": time.time(), **figures}))
