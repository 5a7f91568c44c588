"""One owner per testbed name: the run that creates a testbed holds its lock until it deletes (or
keeps) it, so a second run can neither create it again nor delete it under the first. The lock is
an flock, released by the kernel when its process ends however it ends: a lock never goes stale."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from typing import IO


class TestbedBusy(RuntimeError):
    __test__ = False  # not a pytest test class


class TestbedLock:
    __test__ = False

    def __init__(self, name: str, workdir: Path) -> None:
        self.name = name
        self.path = workdir / "owner.lock"
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock, or raise TestbedBusy naming the run that holds it."""
        file = self.path.open("a+")
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            holder = file.read().strip() or "another process"
            file.close()
            raise TestbedBusy(
                f"testbed {self.name!r} is owned by a harness run that is still going ({holder}); wait "
                "for it to end, or run a copy of the spec with another name and other host ports"
            ) from None
        file.seek(0)
        file.truncate()
        file.write(f"pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}")
        file.flush()
        self._file = file

    def held_elsewhere(self) -> str | None:
        """The holder's description when another process holds the lock; None when it is free."""
        if self._file is not None or not self.path.exists():
            return None
        try:
            self.acquire()
        except TestbedBusy as e:
            return str(e)
        self.release()
        return None

    def last_owner(self) -> str:
        """Who held the lock last (its pid and since when), or that no run of the harness made it."""
        text = self.path.read_text().strip() if self.path.exists() else ""
        return f"last owner {text}" if text else "no harness run recorded owning it"

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
