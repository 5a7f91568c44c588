"""The pytest plugin: options, markers and session fixtures for conformance suites.

Anything a suite does, a user's own test file can do: request `testbed` (a running kind cluster made
from --testbed) and `kube` (API clients for it).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Generator, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from types import FrameType

import pytest

from harness.cluster.testbed import Options, TestbedCluster
from harness.kube.client import Clients
from harness.report.record import NOT_APPLICABLE, CheckRecord
from harness.report.results import write_results
from harness.spec import SpecError, Testbed, load_spec
from harness.stack import StackFigures, install_stack
from harness.supply import Mode

MARKERS = {
    "smoke": "the testbed itself works: nodes, pods, pod network, DNS, NodePort on 127.0.0.1",
    "components": "the orchestration stack works: LWS, Kueue, KEDA, Prometheus",
    "gang": "gang scheduling: all-or-nothing admission of a group",
    "restart": "group restarts: a broken group is recreated whole",
    "topology": "topology placement: racks, NUMA, PCIe, NVLink",
    "dra": "the fake GPU/NIC DRA driver: slices published, claims allocated as their constraints say",
    "scaling": "scaling whole groups on engine metrics",
    "upgrade": "drains and rolling updates without lost requests",
    "lifecycle": "the harness's own testbed lifecycle (creation, interruption, clean-up)",
    "disruptive": "stops nodes, kills pods or drains: refused on clusters not handed over",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("llm-conformance", "LLM-inference conformance testbed")
    group.addoption("--testbed", metavar="FILE", help="testbed spec (YAML), e.g. clusters/default.yaml")
    group.addoption(
        "--image-mode",
        choices=[m.value for m in Mode],
        default=None,
        help="where images come from (default: registry if upstream registries answer, else source)",
    )
    group.addoption("--image-mirror", metavar="URL", help="registry mirror for --image-mode mirror")
    group.addoption("--reuse-cluster", action="store_true", help="use an existing kind cluster of the spec's name")
    group.addoption("--keep-cluster", action="store_true", help="do not delete the cluster at the end")
    group.addoption(
        "--create-timeout",
        type=float,
        default=float(os.environ.get("LLMC_CREATE_TIMEOUT", 1800)),
        metavar="SECONDS",
        help="bound on image supply + cluster creation (default 1800)",
    )
    group.addoption(
        "--report-dir", metavar="DIR", help="write reports/<run-id>/ (junit_01.xml, ...) and point reports/latest at it"
    )


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    spec_file = config.getoption("--testbed")
    if spec_file:
        # Bad input fails here, before anything is created.
        try:
            config.stash[SPEC] = load_spec(spec_file)
        except SpecError as e:
            raise pytest.UsageError(str(e)) from None
    report_root = config.getoption("--report-dir")
    if report_root and not config.option.xmlpath:
        run_dir = _new_run_dir(Path(report_root))
        config.option.xmlpath = str(run_dir / "junit_01.xml")
        config.stash[RUN_DIR] = run_dir
    # SIGTERM (CI cancelling, `timeout`) tears the testbed down like Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)


SPEC = pytest.StashKey[Testbed]()
RUN_DIR = pytest.StashKey[Path]()
RECORDS = pytest.StashKey[list[CheckRecord]]()
ITEM_RECORD = pytest.StashKey[CheckRecord]()
FIGURES = pytest.StashKey[str]()
STACK_FIGURES = pytest.StashKey[str]()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _new_run_dir(root: Path) -> Path:
    run_id = time.strftime("%Y%m%d-%H%M%S")
    run_dir = root / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    latest = root / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(run_id)
    return run_dir


@pytest.fixture(scope="session")
def testbed_spec(request: pytest.FixtureRequest) -> Testbed:
    spec = request.config.stash.get(SPEC, None)
    if spec is None:
        raise pytest.UsageError("this test needs a testbed: pass --testbed FILE (e.g. clusters/default.yaml)")
    return spec


@pytest.fixture(scope="session")
def testbed(request: pytest.FixtureRequest, testbed_spec: Testbed) -> Iterator[TestbedCluster]:
    """The running kind testbed. Creation failures are errors, never skips."""
    opt = request.config.getoption
    mode = opt("--image-mode")
    options = Options(
        mode=Mode(mode) if mode else None,
        mirror_url=opt("--image-mirror"),
        reuse=opt("--reuse-cluster"),
        keep=opt("--keep-cluster"),
        create_timeout=opt("--create-timeout"),
    )
    # Creation can take many minutes on a cold cache: show its progress instead of capturing it.
    with _live_output(request.config):
        cluster = TestbedCluster(testbed_spec, options)
        cluster.start()
    try:
        yield cluster
    finally:
        with _live_output(request.config):
            cluster.down()
        request.config.stash[FIGURES] = cluster.figures.summary()


def _live_output(config: pytest.Config) -> AbstractContextManager[None]:
    capman = config.pluginmanager.getplugin("capturemanager")
    return capman.global_and_fixture_disabled() if capman else nullcontext()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    figures = config.stash.get(FIGURES, None)
    if figures:
        terminalreporter.write_sep("-", "testbed")
        terminalreporter.write_line(figures)
    stack_figures = config.stash.get(STACK_FIGURES, None)
    if stack_figures:
        terminalreporter.write_line(stack_figures)


@pytest.fixture(scope="session")
def kube(testbed: TestbedCluster) -> Clients:
    return testbed.clients()


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest, testbed: TestbedCluster) -> StackFigures:
    """LWS, Kueue, KEDA and Prometheus installed and usable (only what is missing on a reused cluster)."""
    with _live_output(request.config):
        figures = install_stack(testbed)
    request.config.stash[STACK_FIGURES] = figures.summary()
    return figures


@pytest.fixture
def record(request: pytest.FixtureRequest, tmp_path: Path) -> CheckRecord:
    """This check's record for the report (harness/report/record.py): figures, evidence, load."""
    item = request.node
    area = next((m.name for m in item.iter_markers() if m.name in MARKERS and m.name != "disruptive"), "other")
    doc = (getattr(getattr(item, "function", None), "__doc__", None) or "").strip()
    rec = CheckRecord(nodeid=item.nodeid, area=area, check=doc.splitlines()[0] if doc else item.name)
    run_dir = request.config.stash.get(RUN_DIR, None)
    rec.dir = run_dir / "checks" / _safe(item.nodeid) if run_dir else tmp_path
    rec.dir.mkdir(parents=True, exist_ok=True)
    item.stash[ITEM_RECORD] = rec
    request.config.stash.setdefault(RECORDS, []).append(rec)
    return rec


def _safe(nodeid: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in nodeid.replace("::", "__"))[:150]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    rec = item.stash.get(ITEM_RECORD, None)
    if rec is None:
        return report
    if report.when == "call" or (report.when == "setup" and not report.passed):
        rec.finished = time.time()
        if report.skipped:
            reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
            rec.verdict, rec.reason = "not_applicable", reason.removeprefix("Skipped: ").removeprefix(NOT_APPLICABLE)
        elif report.failed:
            rec.verdict = "failed" if report.when == "call" else "error"
            rec.reason = call.excinfo.exconly() if call.excinfo else str(report.longrepr)
        else:
            rec.verdict, rec.reason = "passed", ""
    elif report.when == "teardown" and report.failed and rec.verdict == "passed":
        rec.verdict = "error"
        rec.reason = call.excinfo.exconly() if call.excinfo else str(report.longrepr)
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    run_dir = session.config.stash.get(RUN_DIR, None)
    if run_dir:
        write_results(run_dir, session.config.stash.get(RECORDS, []))
