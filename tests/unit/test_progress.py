"""Progress output: steps that beat while they run, waits that say what they wait for, and the
handler that reaches the terminal through pytest's capture."""

from __future__ import annotations

import logging
import sys
import textwrap
import time
from pathlib import Path

import pytest

from harness import progress
from harness.kube import waits

pytest_plugins = ["pytester"]

log = logging.getLogger("progress-test")  # outside llmc: the run's own progress handler stays quiet


def messages(caplog: pytest.LogCaptureFixture, level: int = logging.DEBUG) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == log.name and r.levelno >= level]


def test_durations_read_at_a_glance() -> None:
    assert progress.duration(4.4) == "4 s"
    assert progress.duration(59.6) == "1 min 00 s"
    assert progress.duration(14 * 60 + 5) == "14 min 05 s"


def test_last_line_is_what_a_terminal_would_show(tmp_path: Path) -> None:
    log_file = tmp_path / "build.log"
    assert progress.last_line(log_file) == ""  # not written yet
    log_file.write_text("go: downloading k8s.io/api v0.37.2\nk8s.io/apimachinery/pkg/util/sets\n\n")
    assert progress.last_line(log_file) == "k8s.io/apimachinery/pkg/util/sets"
    log_file.write_text("#5 [2/3] RUN apt-get\r#5 0.4 Reading package lists 40%\r#5 0.9 Reading package lists 90%\n")
    assert progress.last_line(log_file) == "#5 0.9 Reading package lists 90%"
    log_file.write_text("x" * 500)
    assert len(progress.last_line(log_file)) == progress.LAST_LINE_CHARS


def test_a_step_says_what_it_does_beats_while_it_runs_and_says_when_it_ends(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, log.name)
    with progress.step(log, "building kubernetes binaries", beat=0.05) as running:
        running.note("k8s.io/kubernetes/cmd/kubelet")
        time.sleep(0.3)
    said = messages(caplog, logging.INFO)
    assert said[0] == "building kubernetes binaries ..."
    assert any(m.startswith("building kubernetes binaries: 0 s so far; k8s.io/kubernetes/cmd/kubelet") for m in said)
    assert said[-1] == "building kubernetes binaries: done in 0 s"
    beats = len(said)
    time.sleep(0.2)
    assert len(messages(caplog, logging.INFO)) == beats  # the beat stopped with the step


def test_a_failed_step_is_a_warning_with_its_last_state(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, log.name)
    with pytest.raises(RuntimeError), progress.step(log, "docker build x") as running:
        running.note("#7 RUN make")
        raise RuntimeError("exit 2")
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.getMessage() == "docker build x: failed (RuntimeError) after 0 s; last: #7 RUN make"


def test_a_quiet_step_stays_at_debug_unless_it_runs_past_a_beat(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, log.name)
    with progress.step(log, "go mod download cached", quiet=True):
        pass
    assert messages(caplog, logging.INFO) == []
    assert messages(caplog) == ["go mod download cached ...", "go mod download cached: done in 0 s"]
    caplog.clear()
    with progress.step(log, "go mod download slow", beat=0.05, quiet=True):
        time.sleep(0.15)
    said = messages(caplog, logging.INFO)
    assert said[0].startswith("go mod download slow: 0 s so far")
    assert said[-1] == "go mod download slow: done in 0 s"


def test_run_beats_with_the_last_line_of_its_log_and_fails_with_its_tail(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, log.name)
    log_file = tmp_path / "logs" / "build.log"
    script = "echo compiling a; sleep 0.3; echo compiling b; sleep 0.3"
    with progress.step(log, "go build demo", beat=0.2) as running:
        progress.run([sys.executable, "-c", f"import os; os.system({script!r})"], log_file, running)
    assert any("so far; compiling" in m for m in messages(caplog))
    with pytest.raises(RuntimeError) as failed, progress.step(log, "mmdebstrap trixie") as running:
        progress.run(["sh", "-c", "echo E: cannot reach the mirror; exit 3"], log_file, running)
    assert str(failed.value).startswith(f"mmdebstrap trixie failed (exit 3); last lines of {log_file}:")
    assert "E: cannot reach the mirror" in str(failed.value)


def test_a_long_wait_says_what_it_waits_for(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, log.name)
    monkeypatch.setattr(waits, "log", log)
    monkeypatch.setattr(waits, "BEAT_SECONDS", 0.05)
    polls = iter(range(100))

    def check() -> tuple[bool, str]:
        n = next(polls)
        return n >= 5, f"Deployment kueue-system/kueue-controller-manager ready 0/1 (poll {n})"

    waits.wait_until(check, timeout=5, what="kueue v0.19.2 usable", interval=0.03)
    beats = messages(caplog)
    assert beats and beats[0].startswith("waiting for kueue v0.19.2 usable: 0 s of 5 s; last seen: Deployment")


@pytest.fixture
def own_root(monkeypatch: pytest.MonkeyPatch) -> str:
    """A root logger of its own, so this run's progress handler (on `llmc`) stays out of the test."""
    monkeypatch.setattr(progress, "ROOT", "llmc-test")
    return "llmc-test"


def test_the_handler_writes_one_line_per_record_and_uninstall_restores_the_level(own_root: str) -> None:
    lines: list[str] = []
    root = logging.getLogger(own_root)
    before = root.level
    handler = progress.install(lines.append)
    try:
        logging.getLogger(f"{own_root}.supply").info("go build %s", "k8s.io/kubernetes@v1.37.2")
        logging.getLogger(f"{own_root}.stack").debug("not shown at INFO")
        logging.getLogger(f"{own_root}.dra").warning("slow")
    finally:
        progress.uninstall(handler)
    assert len(lines) == 2
    assert lines[0].startswith("[supply ") and lines[0].endswith("] go build k8s.io/kubernetes@v1.37.2")
    assert lines[1].startswith("[dra ") and lines[1].endswith("] WARNING: slow")
    assert root.level == before


DEMO = textwrap.dedent(
    """
    import logging
    import pytest
    from harness import progress

    log = logging.getLogger("llmc-test.supply")

    @pytest.fixture(scope="module")
    def built():
        with progress.step(log, "demo build", beat=0.2) as running:
            running.note("compiling pkg/a")
            print("a captured print")
            log.debug("a debug line")
            import time; time.sleep(0.5)
        return True

    def test_uses_the_build(built):
        assert built
    """
)


def test_progress_reaches_the_terminal_through_pytest_capture(pytester: pytest.Pytester, own_root: str) -> None:
    pytester.makepyfile(test_demo=DEMO)
    shown = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    shown.assert_outcomes(passed=1)
    shown.stdout.fnmatch_lines(
        ["*[[]supply *] demo build ...", "*demo build: 0 s so far; compiling pkg/a", "*done in*"]
    )
    assert "a captured print" not in shown.stdout.str()  # capture itself stays on
    assert "a debug line" not in shown.stdout.str()

    quiet = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:llmc-progress")
    quiet.assert_outcomes(passed=1)
    assert "demo build" not in quiet.stdout.str()

    live = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--log-cli-level=DEBUG")
    live.assert_outcomes(passed=1)
    out = live.stdout.str()
    assert out.count("demo build ...") == 1  # pytest's live logging shows it, not both
    assert "a debug line" in out
