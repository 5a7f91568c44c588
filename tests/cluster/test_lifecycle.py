"""Testbed lifecycle on the real Docker engine: an interrupted creation leaves nothing behind, and a
run never creates or deletes a testbed another run owns."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest

from harness.cluster.testbed import Options, TestbedCluster, network_name
from harness.supply.cache import cache_dir

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
        # A run started in the background by a non-interactive shell (nohup CMD &) inherits SIGINT
        # ignored, and Python then keeps it ignored: give the child a terminal's default, as a user's has.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
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
    if proc.returncode == 0:  # the interrupt did not take: remove the testbed it made, then fail
        subprocess.run([sys.executable, "-m", "harness", "cluster", "delete", str(spec)], timeout=180, check=False)
    assert proc.returncode != 0, f"an interrupted create must not report success:\n{output}"
    left = _leftovers(client, name)
    assert not left, f"left behind after {signal.Signals(signum).name}: {left}\n{output[-2000:]}"


HOLD_LOCK = """
import sys, time
from pathlib import Path
from harness.cluster.lock import TestbedLock
lock = TestbedLock(sys.argv[1], Path(sys.argv[2]))  # held while referenced
lock.acquire()
print("held", flush=True)
time.sleep(120)
"""


def test_a_testbed_owned_by_a_running_harness_is_neither_created_again_nor_deleted(tmp_path: Path) -> None:
    name = "llmc-owned"
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(name=name))
    workdir = cache_dir() / "clusters" / name
    workdir.mkdir(parents=True, exist_ok=True)
    owner = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, name, str(workdir)], stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None and owner.stdout.readline().strip() == "held"
        for command in ("create", "delete"):
            proc = subprocess.run(
                [sys.executable, "-m", "harness", "cluster", command, str(spec)],
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert proc.returncode != 0, proc.stdout + proc.stderr
            assert f"testbed {name!r} is owned by a harness run that is still going (pid {owner.pid}" in proc.stderr
        assert not _leftovers(docker.from_env(), name)
    finally:
        owner.kill()
        owner.wait(timeout=10)


def test_a_second_run_refuses_an_existing_testbed_and_leaves_it_running(testbed: TestbedCluster) -> None:
    second = TestbedCluster(testbed.spec, Options())
    with pytest.raises(RuntimeError, match="already exists"):
        second.start()
    assert testbed.spec.name in testbed.kind.clusters(), "the refused run deleted the cluster it found"
    assert testbed.wait_ready(timeout=60) < 60
