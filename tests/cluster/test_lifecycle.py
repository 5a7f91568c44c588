"""Testbed lifecycle on the real Docker engine: an interrupted creation leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest

from harness.cluster.testbed import network_name

pytestmark = pytest.mark.lifecycle

SPEC = """\
name: {name}
hardwareProfiles:
  small:
    gpu: {{model: G, memory: 1Gi}}
    nic: {{model: N}}
    numa: [{{pcieSwitches: [{{gpus: 1, nics: 1}}]}}]
nodes:
  - role: control-plane
  - {{role: worker, zone: z, rack: r, hardware: small}}
"""


def _leftovers(client: docker.DockerClient, name: str) -> list[str]:
    nodes = client.containers.list(all=True, filters={"label": f"io.x-k8s.kind.cluster={name}"})
    registries = client.containers.list(all=True, filters={"label": f"llm-conformance.registry={network_name(name)}"})
    networks = [n for n in client.networks.list(names=[network_name(name)]) if n.name == network_name(name)]
    return [f"container {c.name}" for c in nodes + registries] + [f"network {n.name}" for n in networks]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupted_create_leaves_nothing(tmp_path: Path, signum: int) -> None:
    name = f"llmc-int{signum}"
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(name=name))
    client = docker.from_env()
    assert not _leftovers(client, name), "a previous run left this testbed behind"
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "cluster", "create", str(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # Interrupt once kind has started the node containers: the middle of creation.
        deadline = time.monotonic() + 300
        while not client.containers.list(filters={"label": f"io.x-k8s.kind.cluster={name}"}):
            assert proc.poll() is None, (
                f"create ended before its nodes appeared: {proc.stdout.read() if proc.stdout else ''}"
            )
            assert time.monotonic() < deadline, "kind did not start node containers within 300 s"
            time.sleep(0.5)
        os.kill(proc.pid, signum)
        output, _ = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0, f"an interrupted create must not report success:\n{output}"
    left = _leftovers(client, name)
    assert not left, f"left behind after {signal.Signals(signum).name}: {left}\n{output[-2000:]}"
