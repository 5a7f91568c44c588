"""The local registry the kind nodes use as their containerd mirror.

Images are pushed under `<upstream registry>/<repository>` (registry.k8s.io/pause:3.10 becomes
127.0.0.1:PORT/registry.k8s.io/pause:3.10), and each node's hosts.toml for that upstream registry
points at `http://<alias>:5000/v2/<upstream registry>` with override_path, so unmodified upstream
image names resolve through it.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import docker
import docker.errors

from harness import progress
from harness.supply.cache import cache_dir

ALIAS = "llmc-registry"  # the registry's name on the testbed network, as the nodes reach it
MIRRORED = ("registry.k8s.io", "docker.io", "ghcr.io", "quay.io", "llm-conformance.local")
LABEL = "llm-conformance.registry"

log = logging.getLogger("llmc.supply")


def hosts_toml(upstream: str, endpoint: str) -> str:
    server = "https://registry-1.docker.io" if upstream == "docker.io" else f"https://{upstream}"
    return (
        f'server = "{server}"\n\n'
        f'[host."{endpoint}/v2/{upstream}"]\n'
        '  capabilities = ["pull", "resolve"]\n'
        "  override_path = true\n"
    )


def write_mirrors(folder: Path, endpoint: str) -> Path:
    """Write containerd's certs.d layout: one hosts.toml per mirrored upstream registry."""
    shutil.rmtree(folder, ignore_errors=True)
    for upstream in MIRRORED:
        (folder / upstream).mkdir(parents=True)
        (folder / upstream / "hosts.toml").write_text(hosts_toml(upstream, endpoint))
    return folder


class LocalRegistry:
    """A registry container on the testbed network, published on 127.0.0.1 for pushing."""

    def __init__(self, name: str, image: str, network: str) -> None:
        self.name = name
        self.image = image
        self.network = network
        self.port = 0
        self.client = docker.from_env()

    def attach(self) -> bool:
        """Use this testbed's registry if it is already running (a reused cluster); False if not."""
        try:
            container = self.client.containers.get(self.name)
        except docker.errors.NotFound:
            return False
        bindings = (container.attrs["NetworkSettings"]["Ports"] or {}).get("5000/tcp") or []
        if container.status != "running" or not bindings:
            return False
        self.port = int(bindings[0]["HostPort"])
        return True

    def start(self, timeout: float = 30) -> None:
        self.remove()
        self.port = _free_port()
        storage = cache_dir() / "registry-data"
        storage.mkdir(exist_ok=True)
        self.client.containers.run(
            self.image,
            name=self.name,
            detach=True,
            labels={LABEL: self.network},
            ports={"5000/tcp": ("127.0.0.1", self.port)},
            volumes={str(storage): {"bind": "/var/lib/registry", "mode": "rw"}},
            network=self.network,
        )
        # Reconnect with the alias the nodes' hosts.toml use; aliases are per network, so several
        # testbeds each have their own registry under the same alias.
        net = self.client.networks.get(self.network)
        net.disconnect(self.name)
        net.connect(self.name, aliases=[ALIAS])
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/v2/", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError) as e:
                last = str(e)
            time.sleep(0.5)
        logs = self.client.containers.get(self.name).logs(tail=20).decode(errors="replace")
        raise RuntimeError(
            f"local registry {self.name} did not answer on 127.0.0.1:{self.port} in {timeout:.0f} s "
            f"(last error: {last}); its log:\n{logs}"
        )

    @property
    def endpoint(self) -> str:
        """The mirror endpoint as the nodes see it."""
        return f"http://{ALIAS}:5000"

    def push(self, names: list[str]) -> None:
        push(names, f"127.0.0.1:{self.port}")

    def remove(self) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            self.client.containers.get(self.name).remove(force=True)


def push(names: list[str], registry: str) -> None:
    """Push local images to `registry` (host:port) under <upstream registry>/<repository>."""
    with progress.step(log, f"pushing {len(names)} images to {registry}", quiet=True) as running:
        for name in names:
            running.note(name)
            target = f"{registry}/{qualified(name)}"
            subprocess.run(["docker", "tag", name, target], check=True)
            proc = subprocess.run(["docker", "push", "-q", target], capture_output=True, text=True)
            subprocess.run(["docker", "rmi", target], capture_output=True)
            if proc.returncode != 0:
                raise RuntimeError(f"docker push {target} failed: {proc.stderr.strip()}")


def qualified(name: str) -> str:
    """docker.io/library/registry:3 stays; 'kindest/node:v1' gets docker.io/ in front."""
    first = name.split("/", 1)[0]
    if "/" in name and ("." in first or ":" in first or first == "localhost"):
        return name
    return f"docker.io/{name}" if "/" in name else f"docker.io/library/{name}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
