"""The kind CLI: resolving the binary and running create/delete with bounded time.

pytest-kind's KindCluster is not used: its create() has no timeout and no clean-up when creation is
interrupted, it downloads kind from GitHub when the binary is missing, and it brings pykube in.
This wrapper is the few calls the harness needs, each bounded.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from contextlib import nullcontext
from pathlib import Path

from harness import progress, versions
from harness.supply.cache import cache_dir, log_file

DOWNLOAD = "https://kind.sigs.k8s.io/dl/{version}/kind-linux-amd64"

log = logging.getLogger("llmc.cluster")


class KindError(RuntimeError):
    pass


def resolve_kind(version: str | None = None) -> Path:
    """kind from PATH, else the pinned version: downloaded online, built with `go install` offline."""
    on_path = shutil.which("kind")
    if on_path:
        return Path(on_path)
    version = version or versions.pinned()["kind"]
    target = cache_dir() / "bin" / f"kind-{version}"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(DOWNLOAD.format(version=version), timeout=10) as r:
            tmp = target.with_suffix(".part")
            tmp.write_bytes(r.read())
            tmp.chmod(0o755)
            tmp.rename(target)
            return target
    except OSError as e:
        log.info("kind download unavailable (%s); building it from its module instead", e)
    gobin = cache_dir() / "bin" / f"kind-{version}.d"
    with progress.step(log, f"go install sigs.k8s.io/kind@{version}"):
        proc = subprocess.run(
            ["go", "install", f"sigs.k8s.io/kind@{version}"],
            env={**os.environ, "GOBIN": str(gobin), "CGO_ENABLED": "0"},
            capture_output=True,
            text=True,
            timeout=900,
        )
    if proc.returncode != 0:
        raise KindError(f"go install sigs.k8s.io/kind@{version} failed: {proc.stderr.strip()}")
    (gobin / "kind").rename(target)
    return target


class Kind:
    def __init__(self, binary: Path, network: str | None = None) -> None:
        self.binary = binary
        self.env = {**os.environ}
        if network:
            # kind then uses (and never deletes) this network, which the harness creates and removes.
            self.env["KIND_EXPERIMENTAL_DOCKER_NETWORK"] = network

    def clusters(self) -> list[str]:
        out = self._run(["get", "clusters"], timeout=60).stdout
        return [line for line in out.splitlines() if line and not line.startswith("No kind clusters")]

    def create(self, name: str, config: Path, kubeconfig: Path, timeout: float) -> float:
        """Create the cluster; returns seconds taken. On failure or timeout nothing is left behind."""
        started = time.monotonic()
        cmd = ["create", "cluster", "--name", name, "--config", str(config), "--kubeconfig", str(kubeconfig)]
        try:
            with progress.step(log, f"kind create cluster {name}") as running:
                output = log_file("kind-create", name)
                running.follow(output)
                self._run(cmd, timeout=timeout, output=output)
        except BaseException:
            self.delete(name, kubeconfig)
            raise
        return time.monotonic() - started

    def delete(self, name: str, kubeconfig: Path | None = None) -> None:
        cmd = ["delete", "cluster", "--name", name]
        if kubeconfig:
            cmd += ["--kubeconfig", str(kubeconfig)]
        with progress.step(log, f"kind delete cluster {name}"):
            self._run(cmd, timeout=300)

    def load_images(self, name: str, images: list[str], timeout: float = 600) -> None:
        with progress.step(log, f"kind load docker-image {' '.join(images)}", quiet=True):
            self._run(["load", "docker-image", "--name", name, *images], timeout=timeout)

    def export_kubeconfig(self, name: str, kubeconfig: Path) -> None:
        self._run(["export", "kubeconfig", "--name", name, "--kubeconfig", str(kubeconfig)], timeout=60)

    def export_logs(self, name: str, folder: Path) -> None:
        self._run(["export", "logs", str(folder), "--name", name], timeout=300)

    def _run(self, args: list[str], timeout: float, output: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run kind, bounded; its output captured, or written to `output` (a log progress follows)."""
        # The child keeps its own copy of the log's descriptor, so ours closes once it is started.
        with output.open("w") if output else nullcontext() as out_file:
            # Own process group: a Ctrl-C reaches kind through us, so we can clean up after it.
            proc = subprocess.Popen(
                [str(self.binary), *args],
                env=self.env,
                text=True,
                start_new_session=True,
                stdout=out_file or subprocess.PIPE,
                stderr=subprocess.STDOUT if out_file else subprocess.PIPE,
            )
        try:
            out, err = proc.communicate(timeout=timeout)
        except BaseException as e:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
            if isinstance(e, subprocess.TimeoutExpired):
                raise KindError(f"kind {' '.join(args[:2])} did not finish within {timeout:.0f} s") from None
            raise
        if proc.returncode != 0:
            detail = output.read_text(errors="replace") if output else err or ""
            raise KindError(f"kind {' '.join(args)} failed (exit {proc.returncode}): {detail.strip()[-3000:]}")
        return subprocess.CompletedProcess(args, proc.returncode, out or "", err or "")
