"""Progress of long steps, through the standard `logging` module.

Each area logs to its own logger: `llmc.supply` (image builds), `llmc.stack`, `llmc.cluster`,
`llmc.dra`, `llmc.wait` (bounded waits). A step that can take more than a few seconds runs inside
`step()`, which says when it starts and ends and, in between, beats every BEAT_SECONDS with the time
so far and the last thing it did (a build log's last line, or a wait's last seen state), so a cold
14-minute build never looks hung.

Where records go:
  pytest   the harness plugin registers `PytestProgress`: INFO and up reach the terminal even while
           pytest captures output (like pytest's own live logging). `-p no:llmc-progress` turns it
           off; `--log-cli-level=LEVEL` (or `log_cli`) hands the records to pytest's live logging
           instead, at that level (DEBUG shows more, WARNING only problems).
  harness  the CLI installs the same handler on stderr.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import pytest

ROOT = "llmc"
PLUGIN = "llmc-progress"
BEAT_SECONDS = 15.0
LAST_LINE_CHARS = 160


def duration(seconds: float) -> str:
    """`42 s`, `3 min 05 s`: what a person reads at a glance."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    return f"{seconds // 60} min {seconds % 60:02d} s"


def last_line(path: Path) -> str:
    """The last non-empty line of a (growing) log file, shortened; '' when there is none yet."""
    try:
        with path.open("rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 8192))
            tail = f.read().decode(errors="replace")
    except OSError:
        return ""
    # Progress bars rewrite their line with \r: the text after the last \r is what a terminal shows.
    lines = [line.rsplit("\r", 1)[-1].strip() for line in tail.splitlines()]
    line = next((line for line in reversed(lines) if line), "")
    return line if len(line) <= LAST_LINE_CHARS else line[: LAST_LINE_CHARS - 3] + "..."


class Step:
    """A step under way. A background thread beats while the step's code blocks (a `go build`, a
    `docker build`); it only logs, and stops when the step ends."""

    def __init__(self, log: logging.Logger, what: str, beat: float) -> None:
        self.log = log
        self.what = what
        self.beat = beat
        self.started = time.monotonic()
        self._state = ""
        self._log_file: Path | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"progress: {what}", daemon=True)

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    def note(self, state: str) -> None:
        """What the step is at now; the next beat says it."""
        self._state = state

    def follow(self, log_file: Path) -> None:
        """Beat with the last line of this file (a subprocess's output) instead of the noted state."""
        self._log_file = log_file

    def latest(self) -> str:
        return last_line(self._log_file) if self._log_file is not None else self._state

    def _run(self) -> None:
        while not self._done.wait(self.beat):
            latest = self.latest()
            self.log.info("%s: %s so far%s", self.what, duration(self.seconds), f"; {latest}" if latest else "")

    def _start(self) -> None:
        self._thread.start()

    def _stop(self) -> None:
        self._done.set()
        self._thread.join(timeout=5)


@contextmanager
def step(log: logging.Logger, what: str, beat: float = BEAT_SECONDS, quiet: bool = False) -> Iterator[Step]:
    """Log `what` at the start, a beat every `beat` seconds while it runs, and its end with the time
    it took (a WARNING, with the last thing it did, if it failed or was interrupted).

    quiet: for steps that are usually instant (a cached download, a push of layers the registry
    has): start and end at DEBUG, unless the step runs past a beat."""
    running = Step(log, what, beat)
    log.log(logging.DEBUG if quiet else logging.INFO, "%s ...", what)
    running._start()
    try:
        yield running
    except BaseException as e:
        running._stop()
        latest = running.latest()
        log.warning(
            "%s: %s after %s%s",
            what,
            "interrupted" if isinstance(e, KeyboardInterrupt) else f"failed ({type(e).__name__})",
            duration(running.seconds),
            f"; last: {latest}" if latest else "",
        )
        raise
    running._stop()
    level = logging.DEBUG if quiet and running.seconds < beat else logging.INFO
    log.log(level, "%s: done in %s", what, duration(running.seconds))


def run(
    cmd: list[str], log_file: Path, running: Step, cwd: Path | None = None, env: dict[str, str] | None = None
) -> None:
    """Run a command with its output in `log_file`, which the step's beats show the last line of;
    on failure raise with the log's last lines."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    running.follow(log_file)
    with log_file.open("w") as out:
        proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        tail = log_file.read_text(errors="replace").splitlines()[-25:]
        raise RuntimeError(
            f"{running.what} failed (exit {proc.returncode}); last lines of {log_file}:\n" + "\n".join(tail)
        )


class _Format(logging.Formatter):
    """`[supply 12:03:04] go build ...`: the area (logger name less `llmc.`), the time, the message."""

    def format(self, record: logging.LogRecord) -> str:
        area = record.name.removeprefix(ROOT + ".")
        when = time.strftime("%H:%M:%S", time.localtime(record.created))
        level = "" if record.levelno == logging.INFO else f"{record.levelname}: "
        text = f"[{area} {when}] {level}{record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class TerminalHandler(logging.Handler):
    """Hands each record, formatted as one line, to a write function (the terminal, however reached)."""

    def __init__(self, write: Callable[[str], None], level: int = logging.INFO) -> None:
        super().__init__(level)
        self.write = write
        self.logger_level = logging.NOTSET  # the llmc logger's level before install(), for uninstall()
        self.setFormatter(_Format())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.write(self.format(record))
        except Exception:
            self.handleError(record)


def install(write: Callable[[str], None], level: int = logging.INFO) -> TerminalHandler:
    """Show `llmc.*` records of `level` and up through `write`, one line each, until uninstall().
    Records still propagate, so pytest also keeps them in a failed test's captured log."""
    logger = logging.getLogger(ROOT)
    handler = TerminalHandler(write, level)
    handler.logger_level = logger.level
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > level:
        logger.setLevel(level)
    return handler


def uninstall(handler: TerminalHandler) -> None:
    logger = logging.getLogger(ROOT)
    logger.removeHandler(handler)
    logger.setLevel(handler.logger_level)


_stderr: list[TerminalHandler] = []


def install_stderr() -> None:
    """For the `harness` command: progress on stderr (once, however often main() runs)."""
    if not _stderr:
        _stderr.append(install(lambda line: print(line, file=sys.stderr, flush=True)))


class PytestProgress:
    """Progress on the terminal during a pytest run, through its output capture."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.handler: TerminalHandler | None = None

    def pytest_configure(self, config: pytest.Config) -> None:
        if config.getoption("log_cli_level", None) is not None or config.getini("log_cli"):
            return  # pytest's live logging shows our records, at the level the user chose
        self.handler = install(self.write)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.handler is not None:
            uninstall(self.handler)
            self.handler = None

    def write(self, line: str) -> None:
        plugins = self.config.pluginmanager
        capman = plugins.get_plugin("capturemanager")
        reporter = plugins.get_plugin("terminalreporter")
        # As pytest's live logging does: step out of capture for the write, then back in.
        with capman.global_and_fixture_disabled() if capman else nullcontext():
            if reporter is not None:
                reporter.write_line(line)
                # A pipe (CI logs, `| tee`) is block-buffered: without a flush, beats arrive in bursts.
                reporter.flush()
            else:
                print(line, file=sys.stderr, flush=True)


def register(config: pytest.Config) -> None:
    """Called by the harness plugin's pytest_configure; `-p no:llmc-progress` blocks the name, and
    then nothing is registered."""
    config.pluginmanager.register(PytestProgress(config), PLUGIN)
