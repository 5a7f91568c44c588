"""The pytest plugin: options, markers and session fixtures for conformance suites.

Anything a suite does, a user's own test file can do: request `testbed` (a running kind cluster made
from --llmc-testbed, or the existing cluster --llmc-kubeconfig/--llmc-context name) and `kube` (API
clients for it), and mark a test `check` to have it reported.

Installed, the plugin loads in every pytest run of its environment, so loading it is cheap and safe:
it imports only pytest and the standard library. The cluster, stack, image and report machinery
(kubernetes, docker, fake_gpu, ...) is imported by the fixtures and hooks that use it, and the hooks
act only on runs that use the harness's options or its checks.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import signal
import sys
import time
from collections.abc import Generator, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Literal

import pytest

from harness import progress
from harness.options import CREATE_TIMEOUT, CREATE_TIMEOUT_ENV, IMAGE_MODES, default_create_timeout
from harness.verdicts import NotApplicable

if TYPE_CHECKING:
    from harness.cluster.existing import ClusterRef, ExistingCluster
    from harness.cluster.testbed import TestbedCluster
    from harness.dra.install import DriverFigures
    from harness.dra.profile import DeviceProfile
    from harness.kube.client import Clients
    from harness.report.record import CheckRecord
    from harness.report.session import Report
    from harness.spec import Testbed
    from harness.spec.model import PortMapping
    from harness.stack import StackFigures

AREAS = {
    "smoke": "the testbed itself works: nodes, pods, pod network, DNS, NodePort on 127.0.0.1",
    "components": "the orchestration stack works: LWS, Kueue, KEDA, Prometheus",
    "gang": "gang scheduling: all-or-nothing admission of a group",
    "restart": "group restarts: a broken group is recreated whole",
    "topology": "topology placement: racks, NUMA, PCIe, NVLink",
    "dra": "DRA with the cluster's devices: claims allocated as their constraints say, devices seen in the pod",
    "scaling": "scaling whole groups on engine metrics",
    "upgrade": "drains and rolling updates without lost requests",
    "accelerators": "accelerator access and metrics: only claimed GPUs reachable, per-GPU metrics follow the engines",
}
MARKERS = {
    **AREAS,
    "check": "a conformance check outside a suites/ folder: reported (results.json) under its area marker",
    "lifecycle": "the harness's own testbed lifecycle (creation, interruption, clean-up)",
    "disruptive": "stops nodes, kills pods or drains: refused on clusters not handed over",
}
JUNIT = "junit_01.xml"
# Our own images are built from these packages: distributions of their own in the harness's
# repository, not on PyPI, so not dependencies of the harness; a run that needs one says so.
INSTALL = {"fake_gpu": "pip install ./fake-gpu", "mock_vllm": "pip install ./workloads/mock-vllm"}

# Options a config file may set too (ini key = dest), and how its value reads. Not
# --llmc-allow-disruption: handing a cluster over for disruption is said per run, on the command line.
INI: dict[str, Literal["string", "bool", "linelist"]] = {
    "llmc_testbed": "string",
    "llmc_image_mode": "string",
    "llmc_image_mirror": "string",
    "llmc_node_image": "string",
    "llmc_reuse_cluster": "bool",
    "llmc_keep_cluster": "bool",
    "llmc_create_timeout": "string",
    "llmc_report_dir": "string",
    "llmc_kubeconfig": "string",
    "llmc_context": "string",
    "llmc_no_install": "bool",
    "llmc_host_port": "linelist",
    "llmc_device_profile": "string",
    "llmc_placement_engine": "string",
}
# In an ini file: relative to that file.
PATHS = ("llmc_testbed", "llmc_report_dir", "llmc_kubeconfig", "llmc_device_profile")
TARGET = ("llmc_testbed", "llmc_kubeconfig", "llmc_context")  # what the run is on: one set wins whole


def pytest_addoption(parser: pytest.Parser) -> None:
    def add(group: pytest.OptionGroup, name: str, help: str, **kwargs: Any) -> None:
        dest = "llmc_" + name.replace("-", "_")
        if dest in INI:
            parser.addini(dest, help, type=INI[dest])
            help += f" [ini: {dest}]"
        group.addoption(f"--llmc-{name}", dest=dest, help=help, **kwargs)

    group = parser.getgroup("llmc", "LLM-inference conformance harness (command line wins over the ini keys)")
    add(
        group,
        "testbed",
        "testbed spec (YAML) of the kind cluster to run on, e.g. clusters/default.yaml",
        metavar="FILE",
    )
    add(
        group,
        "image-mode",
        "where images come from: registry, source or mirror (default: registry if upstream registries answer, "
        "else source)",
        metavar="MODE",
    )
    add(group, "image-mirror", "registry mirror for image mode mirror", metavar="URL")
    add(
        group,
        "node-image",
        "image mode registry: your own kind node image (default: kind's published one for the spec's Kubernetes, "
        "by digest)",
        metavar="IMAGE",
    )
    add(group, "reuse-cluster", "use an existing kind cluster of the spec's name", action="store_true")
    add(group, "keep-cluster", "do not delete the cluster at the end", action="store_true")
    add(
        group,
        "create-timeout",
        f"bound on image supply + cluster creation (default: ${CREATE_TIMEOUT_ENV}, else {CREATE_TIMEOUT})",
        metavar="SECONDS",
    )
    add(
        group,
        "report-dir",
        f"write DIR/<run-id>/ ({JUNIT}, results.json, summary.md, index.html) and point DIR/latest at it",
        metavar="DIR",
    )
    add(
        group,
        "device-profile",
        "YAML file overriding the device profile (DeviceClasses, topology attributes, how a container "
        "sees its devices) that the testbed's driver or the cluster's ResourceSlices give",
        metavar="FILE",
    )
    add(
        group,
        "placement-engine",
        "engine image whose latency reflects its devices' placement, for the misplacement-cost check on "
        "devices other than the harness's fake driver (where the mock engine's latency cannot)",
        metavar="IMAGE",
    )
    existing = parser.getgroup("llmc existing cluster", "LLM-inference conformance on a cluster it did not create")
    add(existing, "kubeconfig", "the cluster's kubeconfig (instead of --llmc-testbed)", metavar="FILE")
    add(existing, "context", "the kubeconfig's context to use (default: its current one)", metavar="NAME")
    add(
        existing,
        "no-install",
        "install nothing: checks that need a missing component are not applicable",
        action="store_true",
    )
    add(
        existing,
        "allow-disruption",
        "run disruptive checks (drain, pod kill, node stop, rollout); must name the context in use",
        metavar="CONTEXT",
    )
    add(
        existing,
        "host-port",
        "NodePort NODEPORT answers on 127.0.0.1:HOSTPORT (checks that need one are not applicable without)",
        action="append",
        default=[],
        metavar="NODEPORT:HOSTPORT",
    )


@pytest.hookimpl(tryfirst=True)  # before junitxml's own configure reads --junitxml
def pytest_configure(config: pytest.Config) -> None:
    progress.register(config)
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    _apply_ini(config)
    opt = config.option
    if opt.llmc_testbed and (opt.llmc_kubeconfig or opt.llmc_context):
        raise pytest.UsageError(
            "--llmc-testbed creates a kind testbed; --llmc-kubeconfig/--llmc-context name an existing cluster: "
            "give one or the other"
        )
    if opt.llmc_testbed:
        from harness.spec import SpecError, load_spec

        # Bad input fails here, before anything is created.
        try:
            config.stash[SPEC] = load_spec(opt.llmc_testbed)
        except SpecError as e:
            raise pytest.UsageError(str(e)) from None
        except OSError as e:
            raise pytest.UsageError(f"--llmc-testbed {opt.llmc_testbed}: {e.strerror}") from None
    if opt.llmc_kubeconfig or opt.llmc_context:
        _configure_existing(config)
    if opt.llmc_device_profile:
        from harness.dra.profile import ProfileError, read_override

        try:  # bad input fails here, before anything is created
            read_override(opt.llmc_device_profile)
        except ProfileError as e:
            raise pytest.UsageError(str(e)) from None
        except OSError as e:
            raise pytest.UsageError(f"--llmc-device-profile {opt.llmc_device_profile}: {e.strerror}") from None
    if opt.llmc_report_dir and not opt.help:
        run_dir = _new_run_dir(Path(opt.llmc_report_dir))
        config.stash[RUN_DIR] = run_dir
        if not opt.xmlpath:
            opt.xmlpath = str(run_dir / JUNIT)
    if _in_use(config):
        _report(config)
        # SIGTERM (CI cancelling, `timeout`) tears the testbed down like Ctrl-C does.
        signal.signal(signal.SIGTERM, _interrupt)


def _apply_ini(config: pytest.Config) -> None:
    """Options the command line left unset take their ini value. A target the command line names (a
    testbed, or a kubeconfig/context) replaces the ini's target whole. Relative paths in an ini file
    are relative to that file."""
    opt = config.option
    command_line_target = any(getattr(opt, dest) for dest in TARGET)
    for dest in INI:
        if getattr(opt, dest) or (command_line_target and dest in TARGET):
            continue
        value = config.getini(dest)
        if value and dest in PATHS and config.inipath is not None:
            value = str(config.inipath.parent / value)
        if value:
            setattr(opt, dest, value)
    if opt.llmc_image_mode and opt.llmc_image_mode not in IMAGE_MODES:
        raise pytest.UsageError(f"image mode {opt.llmc_image_mode!r}: expected one of {', '.join(IMAGE_MODES)}")
    try:
        opt.llmc_create_timeout = float(opt.llmc_create_timeout or default_create_timeout())
    except ValueError as e:
        raise pytest.UsageError(f"create timeout: expected a number of seconds ({e})") from None


SPEC: pytest.StashKey[Testbed] = pytest.StashKey()
EXISTING: pytest.StashKey[ClusterRef] = pytest.StashKey()
HOST_PORTS: pytest.StashKey[tuple[PortMapping, ...]] = pytest.StashKey()
REFUSAL: pytest.StashKey[str] = pytest.StashKey()  # why disruptive checks may not run here
RUN_DIR: pytest.StashKey[Path] = pytest.StashKey()
REPORT: pytest.StashKey[Report] = pytest.StashKey()
ITEM_RECORD: pytest.StashKey[CheckRecord] = pytest.StashKey()
FIGURES: pytest.StashKey[str] = pytest.StashKey()
STACK_FIGURES: pytest.StashKey[str] = pytest.StashKey()


def _in_use(config: pytest.Config) -> bool:
    """The run names a testbed, an existing cluster or a report folder: the harness's hooks act."""
    return SPEC in config.stash or EXISTING in config.stash or RUN_DIR in config.stash


def _report(config: pytest.Config) -> Report:
    """The run's report, made on first use: runs that do not use the harness never import it."""
    report = config.stash.get(REPORT, None)
    if report is None:
        from harness.report.session import Report

        report = Report(config.stash.get(RUN_DIR, None), config.stash.get(SPEC, None), sys.argv[1:])
        config.stash[REPORT] = report
    return report


def _configure_existing(config: pytest.Config) -> None:
    """Existing-cluster mode: the context is pinned by name here, before anything runs."""
    from harness.cluster.existing import disruption_refusal
    from harness.cluster.existing import resolve as resolve_context

    opt = config.option
    try:
        ref = resolve_context(opt.llmc_kubeconfig, opt.llmc_context)
        config.stash[HOST_PORTS] = tuple(_host_port(p) for p in opt.llmc_host_port)
    except ValueError as e:
        raise pytest.UsageError(str(e)) from None
    config.stash[EXISTING] = ref
    refusal = disruption_refusal(ref, opt.llmc_allow_disruption)
    if refusal:
        config.stash[REFUSAL] = refusal


def _host_port(text: str) -> PortMapping:
    from harness.spec.model import PortMapping

    node_port, sep, host_port = text.partition(":")
    if not (sep and node_port.isdigit() and host_port.isdigit()):
        raise ValueError(f"--llmc-host-port {text!r}: expected NODEPORT:HOSTPORT, e.g. 30080:30080")
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


def _not_installed(package: str) -> str:
    return f"the {package} package is not installed: `{INSTALL[package]}` (in the harness's repository)"


def _require(package: str) -> None:
    """Fail the test in one line when a package one of our own images is built from is missing."""
    if importlib.util.find_spec(package) is None:
        pytest.fail(_not_installed(package), pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """A test module that imports one of our own packages that is not installed: say how to get it."""
    report = yield
    if report.failed:
        for package in INSTALL:
            if f"No module named '{package}'" in str(report.longrepr):
                report.longrepr = f"{report.longrepr}\n\n{_not_installed(package)}"
    return report


@pytest.fixture(scope="session")
def testbed_spec(request: pytest.FixtureRequest) -> Testbed:
    spec = request.config.stash.get(SPEC, None)
    if spec is None and EXISTING in request.config.stash:
        return request.getfixturevalue("testbed").spec  # type: ignore[no-any-return]
    if spec is None:
        raise pytest.UsageError(
            "this test needs a testbed: pass --llmc-testbed FILE (e.g. clusters/default.yaml), "
            "or --llmc-kubeconfig/--llmc-context for an existing cluster"
        )
    return spec


@pytest.fixture(scope="session")
def testbed(request: pytest.FixtureRequest) -> Iterator[TestbedCluster | ExistingCluster]:
    """The running kind testbed, or the existing cluster --llmc-kubeconfig/--llmc-context name (its
    spec then discovered). Creation failures are errors, never skips."""
    from harness.cluster.testbed import Options, TestbedCluster
    from harness.supply import Mode

    ref = request.config.stash.get(EXISTING, None)
    if ref is not None:
        yield from _existing_cluster(request.config, ref)
        return
    testbed_spec = request.getfixturevalue("testbed_spec")
    opt = request.config.getoption
    mode = opt("llmc_image_mode")
    options = Options(
        mode=Mode(mode) if mode else None,
        mirror_url=opt("llmc_image_mirror"),
        node_image=opt("llmc_node_image"),
        reuse=opt("llmc_reuse_cluster"),
        keep=opt("llmc_keep_cluster"),
        create_timeout=opt("llmc_create_timeout"),
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
    from harness.cluster.existing import ExistingCluster
    from harness.supply import Mode

    mode = config.getoption("llmc_image_mode")
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
    On an existing cluster, its own installs are used as they are; with --llmc-no-install nothing is
    installed, and checks call harness.stack.require.requires() to become not applicable."""
    from harness.cluster.existing import ExistingCluster
    from harness.stack import install_stack
    from harness.stack.existing import ensure_stack

    with _live_output(request.config):
        if isinstance(testbed, ExistingCluster):
            figures = ensure_stack(testbed, allow_install=not request.config.getoption("llmc_no_install"))
        else:
            figures = install_stack(testbed)
    request.config.stash[STACK_FIGURES] = figures.summary()
    if REPORT in request.config.stash:  # the ScaledObjects' timing, beside the cluster's own
        from harness.builders.core import KEDA_COOLDOWN_PERIOD, KEDA_POLLING_INTERVAL

        env = request.config.stash[REPORT].run.environment
        env.timing = {**(env.timing or {}), "keda-polling-interval": f"{KEDA_POLLING_INTERVAL}s"}
        env.timing["keda-cooldown-period"] = f"{KEDA_COOLDOWN_PERIOD}s"
    return figures


@pytest.fixture(scope="module")
def mock_vllm(testbed: TestbedCluster, stack: StackFigures) -> str:
    """The stack installed and the mock vLLM image on every node; its image name."""
    _require("mock_vllm")
    from harness.serving.images import build_mock_vllm

    image = build_mock_vllm(testbed.supply.mode)
    testbed.load_images([image])
    return image


@pytest.fixture(scope="module")
def fake_gpu(testbed: TestbedCluster) -> DriverFigures:
    """The fake GPU driver installed and every worker's devices published. Module-scoped: a module
    may switch the driver (scalar mode), and the next one gets it back."""
    _require("fake_gpu")
    from harness.dra.install import install_fake_gpu

    return install_fake_gpu(testbed)


@pytest.fixture(scope="module")
def devices(request: pytest.FixtureRequest, testbed: TestbedCluster | ExistingCluster) -> DeviceProfile:
    """The testbed's DRA driver (its spec's `driver:`) installed, or on an existing cluster nothing
    installed; the device profile the gang, dra and topology checks claim through. Module-scoped,
    like `fake_gpu`: a module may switch the driver (scalar mode), and the next one gets it back."""
    _require("fake_gpu")
    from harness.dra.drivers import device_profile, install_driver

    with _live_output(request.config):
        install_driver(testbed)
        found = device_profile(testbed, request.config.getoption("llmc_device_profile"))
        logging.getLogger("llmc.dra").info(found.describe())
    return found


@pytest.fixture(scope="session")
def placement_engine(request: pytest.FixtureRequest) -> str | None:
    """--llmc-placement-engine: an engine image whose latency reflects placement, or None."""
    image: str | None = request.config.getoption("llmc_placement_engine")
    return image


@pytest.fixture
def record(request: pytest.FixtureRequest, tmp_path: Path) -> CheckRecord:
    """This check's record for the report (harness/report/record.py): figures, evidence, load."""
    from harness.report.record import CheckRecord

    item = request.node
    if not _is_check(item):
        # A negative control or self-test: its record feeds the checks it runs, not the report.
        return CheckRecord(nodeid=item.nodeid, area="self-test", check=item.name, dir=tmp_path)
    rec = _item_record(item)
    if not request.config.stash.get(RUN_DIR, None):
        rec.dir = tmp_path
    return rec


def _is_check(item: pytest.Item) -> bool:
    """In a run that uses the harness, the conformance checks (reported) are the tests of a `suites/`
    folder and the tests marked `check`; the rest (negative controls, self-tests) are not reported."""
    if not _in_use(item.config):
        return False
    return "suites" in Path(str(item.path)).parts or item.get_closest_marker("check") is not None


def _item_record(item: pytest.Item) -> CheckRecord:
    """The item's record, made on first use: every check is in results.json, with the fixture or not."""
    rec = item.stash.get(ITEM_RECORD, None)
    if rec is None:
        area = next((m.name for m in item.iter_markers() if m.name in AREAS), "other")
        doc = (getattr(getattr(item, "function", None), "__doc__", None) or "").strip()
        check = doc.splitlines()[0] if doc else item.name
        callspec = getattr(item, "callspec", None)
        if doc and callspec is not None:  # parametrised: the same claim per parameter, told apart
            check = f"{check} [{callspec.id}]"
        disruptive = item.get_closest_marker("disruptive") is not None
        rec = _report(item.config).new_record(item.nodeid, area, check, disruptive)
        item.stash[ITEM_RECORD] = rec
    return rec


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if _is_check(item):
        _item_record(item)
    _refuse_disruption(item)


def _refuse_disruption(item: pytest.Item) -> None:
    """On a cluster not handed over (--llmc-allow-disruption=<its context>), a disruptive check ends
    before any of its fixtures run, as not applicable with the flag that would allow it."""
    refusal = item.config.stash.get(REFUSAL, None)
    if refusal is not None and item.get_closest_marker("disruptive") is not None:
        _item_record(item).not_applicable(refusal)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    if ITEM_RECORD in item.stash:
        _report(item.config).check_starts(item.stash[ITEM_RECORD], getattr(item, "funcargs", {}))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if call.excinfo is not None and call.excinfo.errisinstance(NotApplicable):
        from harness.report.record import NOT_APPLICABLE

        # Library code says "not applicable" by raising; here it becomes pytest's skip, with its reason.
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0, f"Skipped: {NOT_APPLICABLE}{call.excinfo.value}")
    rec = item.stash.get(ITEM_RECORD, None)
    if rec is None:
        return report
    from harness.report.record import NOT_APPLICABLE, Figure

    rec.phases[report.when] = report.duration  # the check's time split (CheckRecord.timing)
    if report.when == "call" or (report.when == "setup" and not report.passed):
        rec.finished = time.time()
        if report.skipped:
            reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
            rec.verdict, rec.reason = "not_applicable", reason.removeprefix("Skipped: ").removeprefix(NOT_APPLICABLE)
        elif report.failed:
            rec.verdict = "failed" if report.when == "call" else "error"
            # What the check measured before it judged: a failing run shows how far off it was.
            for name, value in getattr(call.excinfo.value if call.excinfo else None, "figures", {}).items():
                rec.figures.setdefault(name, Figure(float(value), "", "measured before the check failed"))
            rec.reason = call.excinfo.exconly() if call.excinfo else str(report.longrepr)
            _report(item.config).check_failed(rec, getattr(item, "funcargs", {}))
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


def pytest_unconfigure(config: pytest.Config) -> None:
    """With --junitxml naming another file, the run folder still gets its junit_01.xml: a copy of
    that file, which junitxml wrote at session finish."""
    run_dir = config.stash.get(RUN_DIR, None)
    if run_dir is None or not config.option.xmlpath:
        return
    written = Path(os.path.expanduser(os.path.expandvars(config.option.xmlpath))).absolute()
    if written != (run_dir / JUNIT).absolute() and written.is_file():
        shutil.copyfile(written, run_dir / JUNIT)
