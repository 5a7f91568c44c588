"""Prepared claims on disk (the node's plugin directory), so a restarted driver answers the kubelet
for claims it prepared before, without the API server, and can unprepare them."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from fake_gpu.prepare import PreparedClaim

VERSION = 1


class Checkpoint:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._claims: dict[str, PreparedClaim] = {}
        if path.exists():
            raw = json.loads(path.read_text())
            if raw.get("version") != VERSION:
                raise ValueError(f"{path}: checkpoint version {raw.get('version')}, this driver reads {VERSION}")
            self._claims = {uid: PreparedClaim.from_json(c) for uid, c in raw["claims"].items()}

    def get(self, uid: str) -> PreparedClaim | None:
        with self._lock:
            return self._claims.get(uid)

    def claims(self) -> list[PreparedClaim]:
        with self._lock:
            return list(self._claims.values())

    def add(self, claim: PreparedClaim) -> None:
        with self._lock:
            self._claims[claim.uid] = claim
            self._save()

    def remove(self, uid: str) -> None:
        with self._lock:
            if self._claims.pop(uid, None) is not None:
                self._save()

    def _save(self) -> None:
        # Write-then-rename: a crash leaves the old or the new checkpoint, never half of one.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"version": VERSION, "claims": {u: c.to_json() for u, c in self._claims.items()}}))
        os.replace(tmp, self.path)
