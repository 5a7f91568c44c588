"""The two image modes that reach a registry, each on a real kind cluster of its own:

- registry mode against the simulated upstream (tests/support/upstream.py): the smoke and components
  suites, with the mode detected (not given) and the simulated node image passed as the user's own;
- mirror mode: `harness images push --to` fills a registry, and the smoke suite runs from it alone.

Each runs the suites in a child pytest, as a user would, and then checks that nothing is left
behind. Needs root (/etc/hosts, /etc/docker, port 443), like the kind clusters themselves here.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from upstream import CERTS_D, DAEMON_JSON, HOSTS, LABEL, REGISTRIES, daemon_settings, simulated_upstream, stopping_child

from harness import versions
from harness.cluster.kind import resolve_kind

ROOT = Path(__file__).parents[2]
RUN_TIMEOUT = 2400


def spec_copy(folder: Path, name: str) -> Path:
    """clusters/default.yaml under its own name: its cluster, network and lock are its own."""
    spec = yaml.safe_load((ROOT / "clusters" / "default.yaml").read_text())
    spec["name"] = name
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def run_suites(suites: list[str], spec: Path, reports: Path, *options: str, env: dict[str, str] | None = None) -> str:
    """The suites in a child pytest; returns its summary.md, or fails with the child's output."""
    started = time.monotonic()
    proc = stopping_child(
        [sys.executable, "-m", "pytest", *suites, "--llmc-testbed", str(spec), "--llmc-report-dir", str(reports),
         "-p", "no:cacheprovider", *options],
        env=env or dict(os.environ), timeout=RUN_TIMEOUT, cwd=ROOT,
    )  # fmt: skip
    print(f"{' '.join(suites)} {' '.join(options)}: {time.monotonic() - started:.0f} s")
    assert proc.returncode == 0, f"child pytest exited {proc.returncode}:\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    return (reports / "latest" / "summary.md").read_text()


@contextlib.contextmanager
def nothing_left_behind(cluster: str) -> Iterator[None]:
    """After the block: no cluster, container, network, host-name override, CA file or Docker setting
    of the run remains."""
    hosts = HOSTS.read_text()
    daemon = DAEMON_JSON.read_bytes() if DAEMON_JSON.exists() else None
    yield
    assert HOSTS.read_text() == hosts
    assert (DAEMON_JSON.read_bytes() if DAEMON_JSON.exists() else None) == daemon
    assert not [h for h in (*REGISTRIES, "docker.io") if (CERTS_D / h).exists()]
    assert cluster not in _lines(str(resolve_kind()), "get", "clusters")
    assert not _lines("docker", "ps", "-aq", "--filter", f"label={LABEL}")
    assert not _lines("docker", "ps", "-aq", "--filter", f"label=io.x-k8s.kind.cluster={cluster}")
    assert f"llmc-{cluster}" not in _lines("docker", "network", "ls", "--format", "{{.Name}}")


def _lines(*command: str) -> list[str]:
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=60).stdout.split()


def test_registry_mode_against_the_simulated_upstream(tmp_path: Path) -> None:
    spec = spec_copy(tmp_path, "llmc-registry")
    with nothing_left_behind("llmc-registry"), simulated_upstream() as up:
        summary = run_suites(
            ["suites/test_smoke.py", "suites/test_components.py"],
            spec,
            tmp_path / "reports",
            env={**os.environ, **up.env},
        )
    assert "image mode registry" in summary  # detected: the simulated registries answer


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[str]:
    """A registry filled by `harness images push --to`, reachable by the host (127.0.0.1) and by the
    nodes (the host's own address, which Docker accepts over plain HTTP once it is an insecure registry)."""
    address = _host_address()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    name = "llmc-test-mirror"
    subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60)
    subprocess.run(
        ["docker", "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:5000",
         "-p", f"{address}:{port}:5000", versions.pinned()["registry"]["image"]],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    try:
        with daemon_settings(**{"insecure-registries": [f"{address}:{port}"]}):
            started = time.monotonic()
            subprocess.run(
                [sys.executable, "-m", "harness", "images", "push", "--to", f"127.0.0.1:{port}"],
                check=True,
                timeout=RUN_TIMEOUT,
            )
            print(f"harness images push: {time.monotonic() - started:.0f} s")
            yield f"http://{address}:{port}"
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60)


def test_mirror_mode_from_a_registry_filled_by_images_push(mirror: str, tmp_path: Path) -> None:
    spec = spec_copy(tmp_path, "llmc-mirror")
    with nothing_left_behind("llmc-mirror"):
        summary = run_suites(
            ["suites/test_smoke.py"],
            spec,
            tmp_path / "reports",
            "--llmc-image-mode",
            "mirror",
            "--llmc-image-mirror",
            mirror,
        )
    assert "image mode mirror" in summary


def _host_address() -> str:
    """This machine's own address on its default route (the nodes reach the host there)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))  # a documentation address; connect() on UDP sends nothing, it picks the route
        address: str = s.getsockname()[0]
        return address
