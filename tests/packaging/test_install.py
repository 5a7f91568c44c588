"""The harness installed alone, as a user installs it: `pip install .` into a fresh virtualenv, with
its declared dependencies and without ./workloads/mock-vllm or ./fake-gpu. Every pytest run of that
environment loads the plugin, so pytest must start, show the harness's options and pass an
unrelated test; a test that needs our own packages says how to install them; and pytest-kind (its
options --keep-cluster, --kubeconfig were the harness's too) installs beside it.

Slow-ish: pip installs the dependencies from its cache (PyPI on a cold cache), bounded to 300 s.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
INSTALL_TIMEOUT = 300
# A run that does not use the harness must not import these (the plugin loads in every run).
HEAVY = ("kubernetes", "docker", "yaml", "locust", "openai", "harness.cluster", "harness.report", "harness.stack")


def unrelated(heavy: tuple[str, ...] = HEAVY) -> str:
    return f"""
import sys

def test_another_project():
    assert 1 + 1 == 2
    assert [m for m in {heavy!r} if m in sys.modules] == []
"""


# The fresh venv sees only what it installed: no PYTHONPATH from the calling environment.
CLEAN = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def pip(venv: Path, *args: str, timeout: float = INSTALL_TIMEOUT) -> None:
    env = {**CLEAN, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def python(venv: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "python"), *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=CLEAN
    )


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fresh")
    # What the wheel is built from, copied: pip would leave build/ and *.egg-info in the work tree.
    source = root / "source"
    shutil.copytree(ROOT / "harness", source / "harness", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip(venv, str(source))
    return venv


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Another project's tests: no ini of ours, no conftest."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_unrelated.py").write_text(unrelated())
    return tmp_path


def test_our_own_packages_are_not_installed(venv: Path, project: Path) -> None:
    code = "import importlib.util as u; print([p for p in ('fake_gpu', 'mock_vllm') if u.find_spec(p)])"
    proc = python(venv, project, "-c", code)
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr


def test_pytest_starts_and_passes_an_unrelated_test(venv: Path, project: Path) -> None:
    proc = python(venv, project, "-m", "pytest", "-q", "-p", "no:cacheprovider")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout


def test_help_shows_the_harness_options_and_ini_keys(venv: Path, project: Path) -> None:
    proc = python(venv, project, "-m", "pytest", "--help")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for text in ("--llmc-testbed=FILE", "--llmc-report-dir=DIR", "--llmc-keep-cluster", "llmc_testbed (string)"):
        assert text in proc.stdout, text
    version = python(venv, project, "-m", "harness", "--version")
    assert version.returncode == 0 and version.stdout.startswith("harness "), version.stdout + version.stderr


def test_tests_that_need_our_own_packages_say_how_to_install_them(venv: Path, project: Path) -> None:
    (project / "test_needs_driver.py").write_text("import harness.checks.dra  # imports fake_gpu\n")
    (project / "test_needs_engine.py").write_text("import mock_vllm\n")
    proc = python(
        venv, project, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_needs_driver.py", "test_needs_engine.py"
    )
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, proc.stdout + proc.stderr
    assert "the fake_gpu package is not installed: `pip install ./fake-gpu`" in proc.stdout, proc.stdout
    assert "the mock_vllm package is not installed: `pip install ./workloads/mock-vllm`" in proc.stdout, proc.stdout


def test_pytest_kind_beside_the_harness(venv: Path, project: Path) -> None:
    pip(venv, "pytest-kind")
    (project / "test_unrelated.py").write_text(unrelated(tuple(m for m in HEAVY if m != "yaml")))  # pykube's
    proc = python(venv, project, "-m", "pytest", "--help")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "--keep-cluster" in proc.stdout and "--llmc-keep-cluster" in proc.stdout  # pytest-kind's and ours
    proc = python(venv, project, "-m", "pytest", "-q", "-p", "no:cacheprovider")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout
