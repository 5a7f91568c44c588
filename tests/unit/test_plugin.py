"""The pytest plugin as other projects' runs meet it (it loads in every pytest run of its
environment) and as a user configures it: prefixed options, ini keys, the report folder beside
--junitxml, and which tests are reported as conformance checks. Each case is a real pytest run in a
temporary project."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from harness import plugin
from harness.options import IMAGE_MODES
from harness.supply import Mode

ROOT = Path(__file__).resolve().parents[2]
# What a run that does not use the harness must not pay for (kubernetes alone takes ~0.3 s).
HEAVY = (
    "kubernetes",
    "docker",
    "yaml",
    "fake_gpu",
    "mock_vllm",
    "locust",
    "openai",
    "harness.cluster",
    "harness.kube",
    "harness.report",
    "harness.spec",
    "harness.stack",
    "harness.supply",
    "harness.dra",
    "harness.serving",
)


def run_pytest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )


def write(project: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(textwrap.dedent(text))
    return project


def results(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "results.json").read_text())
    return data


def test_image_modes_are_the_supply_modes() -> None:
    assert tuple(m.value for m in Mode) == IMAGE_MODES


def test_importing_the_plugin_imports_nothing_heavy() -> None:
    code = f"import sys, harness.plugin; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_an_unrelated_run_loads_nothing_heavy_and_installs_no_signal_handler(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "test_other.py": f"""
            import signal, sys

            def test_other_project():
                assert [m for m in {HEAVY!r} if m in sys.modules] == []
                assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
            """,
            "suites/test_not_ours.py": "def test_in_a_folder_named_suites():\n    pass\n",
        },
    )
    proc = run_pytest(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout


def test_every_option_is_prefixed(tmp_path: Path) -> None:
    proc = run_pytest(tmp_path, "--help")
    options = re.findall(r"^  (--llmc-[a-z-]+)", proc.stdout, re.MULTILINE)
    assert set(options) == {
        "--llmc-testbed",
        "--llmc-image-mode",
        "--llmc-image-mirror",
        "--llmc-node-image",
        "--llmc-reuse-cluster",
        "--llmc-keep-cluster",
        "--llmc-create-timeout",
        "--llmc-report-dir",
        "--llmc-kubeconfig",
        "--llmc-context",
        "--llmc-no-install",
        "--llmc-allow-disruption",
        "--llmc-host-port",
        "--llmc-device-profile",
        "--llmc-placement-engine",
    }
    for old in ("--testbed", "--keep-cluster", "--kubeconfig", "--report-dir", "--context"):
        assert f"  {old}" not in proc.stdout, old


SHOW_OPTIONS = """
def test_options(request):
    opt = request.config.option
    print("OPTIONS", {k: v for k, v in vars(opt).items() if k.startswith("llmc_")})
"""


def shown_options(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(line for line in proc.stdout.splitlines() if line.startswith("OPTIONS"))
    options: dict[str, Any] = eval(line.removeprefix("OPTIONS "))  # a dict's repr, from the run above
    return options


def test_ini_keys_fill_what_the_command_line_leaves_unset(tmp_path: Path) -> None:
    project = write(
        tmp_path,
        {
            "pytest.ini": """
            [pytest]
            llmc_testbed = specs/default.yaml
            llmc_image_mode = source
            llmc_keep_cluster = true
            llmc_create_timeout = 42
            llmc_report_dir = out
            llmc_host_port =
                30080:30080
            """,
            "specs/default.yaml": (ROOT / "clusters" / "default.yaml").read_text(),
            "sub/test_options.py": SHOW_OPTIONS,
        },
    )
    from_ini = shown_options(run_pytest(project / "sub", "-s", "test_options.py"))
    assert from_ini["llmc_testbed"] == str(project / "specs" / "default.yaml")  # relative to the ini file
    assert from_ini["llmc_image_mode"] == "source" and from_ini["llmc_keep_cluster"] is True
    assert from_ini["llmc_create_timeout"] == 42.0 and from_ini["llmc_host_port"] == ["30080:30080"]
    assert (project / "out" / "latest" / "junit_01.xml").is_file()

    given = run_pytest(
        project / "sub", "-s", "test_options.py", "--llmc-create-timeout=7", "--llmc-image-mode=registry"
    )
    assert shown_options(given)["llmc_create_timeout"] == 7.0
    assert shown_options(given)["llmc_image_mode"] == "registry"


def test_a_command_line_target_replaces_the_ini_target(tmp_path: Path) -> None:
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {}}],
        "contexts": [{"name": "mine", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "mine",
    }
    project = write(
        tmp_path,
        {
            "pytest.ini": "[pytest]\nllmc_testbed = nowhere.yaml\n",
            "kubeconfig": json.dumps(kubeconfig),
            "test_options.py": SHOW_OPTIONS,
        },
    )
    shown = shown_options(run_pytest(project, "-s", "--llmc-kubeconfig=kubeconfig", "--llmc-context=mine"))
    assert shown["llmc_testbed"] is None and shown["llmc_context"] == "mine"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--llmc-testbed=missing.yaml"], "missing.yaml: invalid testbed spec"),
        (["--llmc-image-mode=cloud"], "image mode 'cloud': expected one of registry, source, mirror"),
        (["--llmc-create-timeout=soon"], "create timeout: expected a number of seconds"),
        (["--llmc-testbed=a.yaml", "--llmc-context=b"], "give one or the other"),
        (["--llmc-device-profile=missing.yaml"], "--llmc-device-profile missing.yaml: No such file"),
        (["--llmc-device-profile=profile.yaml"], "container: 'sysfs' is not one of llmc-env, dev-nodes, claim-env"),
    ],
)
def test_bad_options_are_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    files = {"test_x.py": "def test_x():\n    pass\n", "profile.yaml": "container: sysfs\n"}
    proc = run_pytest(write(tmp_path, files), *args)
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR, proc.stdout + proc.stderr
    assert message in proc.stderr


CHECKS = {
    "suites/test_suite.py": '''
    import pytest

    @pytest.mark.smoke
    def test_in_suites():
        """A suite's check"""
    ''',
    "mine/test_own.py": '''
    import pytest

    pytestmark = [pytest.mark.check, pytest.mark.gang]

    def test_marked_check():
        """A user's own check"""
    ''',
    "tests/test_control.py": """
    import pytest

    pytestmark = pytest.mark.gang

    def test_negative_control(record):
        record.figure("seconds", 1.0, "s")
    """,
}


def test_report_dir_beside_junitxml_and_which_tests_are_checks(tmp_path: Path) -> None:
    project = write(tmp_path, CHECKS)
    proc = run_pytest(project, "--llmc-report-dir=reports", "--junitxml=elsewhere.xml", "suites", "mine", "tests")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run_dir = (project / "reports" / "latest").resolve()
    assert (project / "elsewhere.xml").is_file()
    assert (run_dir / "junit_01.xml").read_text() == (project / "elsewhere.xml").read_text()
    checks = {c["nodeid"]: (c["area"], c["check"]) for c in results(run_dir)["checks"]}
    assert checks == {
        "suites/test_suite.py::test_in_suites": ("smoke", "A suite's check"),
        "mine/test_own.py::test_marked_check": ("gang", "A user's own check"),
    }
    for name in ("summary.md", "index.html"):
        assert (run_dir / name).is_file(), name


def test_report_dir_alone_writes_junit_into_the_run_folder(tmp_path: Path) -> None:
    project = write(tmp_path, {"suites/test_suite.py": CHECKS["suites/test_suite.py"]})
    proc = run_pytest(project, "--llmc-report-dir=reports")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'name="test_in_suites"' in (project / "reports" / "latest" / "junit_01.xml").read_text()


def test_a_module_that_needs_an_uninstalled_package_says_how_to_install_it(tmp_path: Path) -> None:
    project = write(tmp_path, {"test_driver.py": "raise ModuleNotFoundError(\"No module named 'fake_gpu'\")\n"})
    proc = run_pytest(project)
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, proc.stdout + proc.stderr
    assert "the fake_gpu package is not installed: `pip install ./fake-gpu`" in proc.stdout


def test_a_fixture_that_needs_an_uninstalled_package_fails_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plugin.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(
        pytest.fail.Exception, match=r"mock_vllm package is not installed: `pip install ./workloads/mock-vllm`"
    ):
        plugin._require("mock_vllm")


VERDICTS = {
    "suites/test_verdicts.py": '''
    import pytest

    from harness.checks import CheckFailed, NotApplicable

    pytestmark = pytest.mark.topology

    def test_fails_with_its_figures(record):
        """A check that measured before it judged"""
        raise CheckFailed("3 of 8 allocations misaligned", figures={"misaligned_fraction": 0.375})

    def test_not_applicable_from_library_code():
        """A check the cluster cannot have"""
        raise NotApplicable("no worker has NVLink cliques")

    @pytest.fixture(scope="module")
    def driver():
        raise NotApplicable("needs the harness's fake GPU driver")

    def test_not_applicable_from_a_fixture(driver):
        """A check whose set-up cannot apply"""
    ''',
}


def test_a_failed_check_reports_its_figures_and_not_applicable_is_raised(tmp_path: Path) -> None:
    proc = run_pytest(write(tmp_path, VERDICTS), "--llmc-report-dir=reports")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "1 failed, 2 skipped" in proc.stdout, proc.stdout
    checks = {c["nodeid"].rsplit("::", 1)[1]: c for c in results((tmp_path / "reports" / "latest").resolve())["checks"]}
    failed = checks["test_fails_with_its_figures"]
    assert failed["verdict"] == "failed"
    assert failed["figures"]["misaligned_fraction"]["value"] == 0.375
    na = checks["test_not_applicable_from_library_code"]
    assert (na["verdict"], na["reason"]) == ("not_applicable", "no worker has NVLink cliques")
    setup = checks["test_not_applicable_from_a_fixture"]
    assert (setup["verdict"], setup["reason"]) == ("not_applicable", "needs the harness's fake GPU driver")
