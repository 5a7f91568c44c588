"""The pytest plugin: options, markers and session fixtures for conformance suites.

Anything a suite does, a user's own test file can do: request `testbed` (a running kind cluster made
from --testbed, or the existing cluster --kubeconfig/--context name) and `kube` (API clients for it).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Generator, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from types import FrameType

import pytest

from harness import progress
from harness.checks import NotApplicable
from harness.cluster.existing import ClusterRef, ExistingCluster, disruption_refusal, ensure_stack
from harness.cluster.existing import resolve as resolve_context
from harness.cluster.testbed import Options, TestbedCluster
from harness.dra.install import DriverFigures, install_fake_gpu
from harness.kube.client import Clients
from harness.report.record import NOT_APPLICABLE, CheckRecord
from harness.report.session import Report
from harness.spec import SpecError, Testbed, load_spec
from harness.spec.model import PortMapping
from harness.stack import StackFigures, install_stack
from harness.supply import Mode
from harness.workloads.images import build_mock_vllm

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
    existing = parser.getgroup("llm-conformance existing cluster", "run on a cluster the harness did not create")
    existing.addoption("--kubeconfig", metavar="FILE", help="the cluster's kubeconfig (instead of --testbed)")
    existing.addoption("--context", metavar="NAME", help="the kubeconfig's context to use (default: its current one)")
    existing.addoption(
        "--no-install",
        action="store_true",
        help="install nothing: checks that need a missing component are not applicable",
    )
    existing.addoption(
        "--allow-disruption",
        metavar="CONTEXT",
        help="run disruptive checks (drain, pod kill, node stop, rollout); must name the context in use",
    )
    existing.addoption(
        "--host-port",
        action="append",
        default=[],
        metavar="NODEPORT:HOSTPORT",
        help="NodePort NODEPORT answers on 127.0.0.1:HOSTPORT (checks that need one are not applicable without)",
    )


def pytest_configure(config: pytest.Config) -> None:
    progress.register(config)
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    spec_file = config.getoption("--testbed")
    if spec_file:
        # Bad input fails here, before anything is created.
        try:
            config.stash[SPEC] = load_spec(spec_file)
        except SpecError as e:
            raise pytest.UsageError(str(e)) from None
    if config.getoption("--kubeconfig") or config.getoption("--context"):
        _configure_existing(config)
    report_root = config.getoption("--report-dir")
    if report_root and not config.option.xmlpath:
        run_dir = _new_run_dir(Path(report_root))
        config.option.xmlpath = str(run_dir / "junit_01.xml")
        config.stash[RUN_DIR] = run_dir
    config.stash[REPORT] = Report(config.stash.get(RUN_DIR, None), config.stash.get(SPEC, None), sys.argv[1:])
    # SIGTERM (CI cancelling, `timeout`) tears the testbed down like Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)


SPEC = pytest.StashKey[Testbed]()
EXISTING = pytest.StashKey[ClusterRef]()
HOST_PORTS = pytest.StashKey[tuple[PortMapping, ...]]()
REFUSAL = pytest.StashKey[str]()  # why disruptive checks may not run here
RUN_DIR = pytest.StashKey[Path]()
REPORT = pytest.StashKey[Report]()
ITEM_RECORD = pytest.StashKey[CheckRecord]()
FIGURES = pytest.StashKey[str]()
STACK_FIGURES = pytest.StashKey[str]()


def _configure_existing(config: pytest.Config) -> None:
    """Existing-cluster mode: the context is pinned by name here, before anything runs."""
    if config.getoption("--testbed"):
        raise pytest.UsageError("--testbed creates a kind testbed; --kubeconfig/--context name an existing cluster")
    try:
        ref = resolve_context(config.getoption("--kubeconfig"), config.getoption("--context"))
        config.stash[HOST_PORTS] = tuple(_host_port(p) for p in config.getoption("--host-port"))
    except ValueError as e:
        raise pytest.UsageError(str(e)) from None
    config.stash[EXISTING] = ref
    refusal = disruption_refusal(ref, config.getoption("--allow-disruption"))
    if refusal:
        config.stash[REFUSAL] = refusal


def _host_port(text: str) -> PortMapping:
    node_port, sep, host_port = text.partition(":")
    if not (sep and node_port.isdigit() and host_port.isdigit()):
        raise ValueError(f"--host-port {text!r}: expected NODEPORT:HOSTPORT, e.g. 30080:30080")
    return PortMapping(int(node_port), int(host_port))


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
    if spec is None and EXISTING in request.config.stash:
        return request.getfixturevalue("testbed").spec  # type: ignore[no-any-return]
    if spec is None:
        raise pytest.UsageError(
            "this test needs a testbed: pass --testbed FILE (e.g. clusters/default.yaml), "
            "or --kubeconfig/--context for an existing cluster"
        )
    return spec


@pytest.fixture(scope="session")
def testbed(request: pytest.FixtureRequest) -> Iterator[TestbedCluster | ExistingCluster]:
    """The running kind testbed, or the existing cluster --kubeconfig/--context name (its spec then
    discovered). Creation failures are errors, never skips."""
    ref = request.config.stash.get(EXISTING, None)
    if ref is not None:
        yield from _existing_cluster(request.config, ref)
        return
    testbed_spec = request.getfixturevalue("testbed_spec")
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
            request.config.stash[REPORT].stop_watching()
            cluster.down()
        request.config.stash[FIGURES] = cluster.figures.summary()


def _existing_cluster(config: pytest.Config, ref: ClusterRef) -> Iterator[ExistingCluster]:
    mode = config.getoption("--image-mode")
    with _live_output(config):
        cluster = ExistingCluster(ref, Mode(mode) if mode else None, config.stash.get(HOST_PORTS, ()))
        logging.getLogger("llmc.cluster").info(cluster.discovery.describe())
    try:
        yield cluster
    finally:
        with _live_output(config):
            config.stash[REPORT].stop_watching()
            left = cluster.close()
        config.stash[FIGURES] = f"existing cluster: {ref.source}" + (
            f"; removed namespaces this run left behind: {left}" if left else "; this run left no namespace behind"
        )


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
def kube(testbed: TestbedCluster | ExistingCluster) -> Clients:
    return testbed.clients()


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest, testbed: TestbedCluster | ExistingCluster) -> StackFigures:
    """LWS, Kueue, KEDA and Prometheus installed and usable (only what is missing on a reused cluster).
    On an existing cluster, its own installs are used as they are; with --no-install nothing is
    installed, and checks call harness.stack.require.requires() to become not applicable."""
    with _live_output(request.config):
        if isinstance(testbed, ExistingCluster):
            figures = ensure_stack(testbed, allow_install=not request.config.getoption("--no-install"))
        else:
            figures = install_stack(testbed)
    request.config.stash[STACK_FIGURES] = figures.summary()
    return figures


@pytest.fixture(scope="module")
def mock_vllm(testbed: TestbedCluster, stack: StackFigures) -> str:
    """The stack installed and the mock vLLM image on every node; its image name."""
    image = build_mock_vllm()
    testbed.load_images([image])
    return image


@pytest.fixture(scope="module")
def fake_gpu(testbed: TestbedCluster) -> DriverFigures:
    """The fake GPU driver installed and every worker's devices published. Module-scoped: a module
    may switch the driver (scalar mode), and the next one gets it back."""
    return install_fake_gpu(testbed)


@pytest.fixture
def record(request: pytest.FixtureRequest, tmp_path: Path) -> CheckRecord:
    """This check's record for the report (harness/report/record.py): figures, evidence, load."""
    item = request.node
    if not _is_check(item):
        # A negative control or self-test: its record feeds the checks it runs, not the report.
        return CheckRecord(nodeid=item.nodeid, area="self-test", check=item.name, dir=tmp_path)
    rec = _item_record(item)
    if not request.config.stash.get(RUN_DIR, None):
        rec.dir = tmp_path
    return rec


def _is_check(item: pytest.Item) -> bool:
    """Conformance checks are the tests of a `suites/` folder; tests/ holds the harness's own tests."""
    return "suites" in Path(str(item.path)).parts


def _item_record(item: pytest.Item) -> CheckRecord:
    """The item's record, made on first use: every check is in results.json, with the fixture or not."""
    rec = item.stash.get(ITEM_RECORD, None)
    if rec is None:
        area = next((m.name for m in item.iter_markers() if m.name in MARKERS and m.name != "disruptive"), "other")
        doc = (getattr(getattr(item, "function", None), "__doc__", None) or "").strip()
        check = doc.splitlines()[0] if doc else item.name
        callspec = getattr(item, "callspec", None)
        if doc and callspec is not None:  # parametrised: the same claim per parameter, told apart
            check = f"{check} [{callspec.id}]"
        disruptive = item.get_closest_marker("disruptive") is not None
        rec = item.config.stash[REPORT].new_record(item.nodeid, area, check, disruptive)
        item.stash[ITEM_RECORD] = rec
    return rec


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if _is_check(item):
        _item_record(item)
    _refuse_disruption(item)


def _refuse_disruption(item: pytest.Item) -> None:
    """On a cluster not handed over (--allow-disruption=<its context>), a disruptive check ends
    before any of its fixtures run, as not applicable with the flag that would allow it."""
    refusal = item.config.stash.get(REFUSAL, None)
    if refusal is not None and item.get_closest_marker("disruptive") is not None:
        _item_record(item).not_applicable(refusal)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    if ITEM_RECORD in item.stash:
        item.config.stash[REPORT].check_starts(item.stash[ITEM_RECORD], getattr(item, "funcargs", {}))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if call.excinfo is not None and call.excinfo.errisinstance(NotApplicable):
        # Library code says "not applicable" by raising; here it becomes pytest's skip, with its reason.
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0, f"Skipped: {NOT_APPLICABLE}{call.excinfo.value}")
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
            item.config.stash[REPORT].check_failed(rec, getattr(item, "funcargs", {}))
        else:
            rec.verdict, rec.reason = "passed", ""
    elif report.when == "teardown" and report.failed and rec.verdict == "passed":
        rec.verdict = "error"
        rec.reason = call.excinfo.exconly() if call.excinfo else str(report.longrepr)
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    report = config.stash.get(REPORT, None)
    if report:
        report.finish(int(exitstatus), config.stash.get(FIGURES, None), config.stash.get(STACK_FIGURES, None))
