"""A simulated upstream for registry mode, on this machine's loopback: what an online user's run
reaches, answered here, so registry mode runs where no registry can be reached.

- TLS registries (the project's registry:3 image) answering as registry-1.docker.io (docker.io),
  registry.k8s.io, ghcr.io and quay.io, serving the images source mode built under their upstream
  names, the base image our registry-mode Dockerfiles start from (made from the local Debian base),
  and a node image made like kind's (source mode's node with the cluster's images preloaded into
  containerd, as `kind build node-image` does), which has its own digest;
- an HTTPS file server answering as github.com, raw.githubusercontent.com and kind.sigs.k8s.io: the
  release manifests (rendered from the modules), the kubelet's .proto files, the kind binary.

Trust and names last only as long as the simulation: a throwaway CA in
/etc/docker/certs.d/<host>/ca.crt (Docker reads it per pull), Docker Hub's own endpoint set as
Docker Hub's registry mirror (Docker verifies docker.io itself against the system CAs only, which it
loads once; a mirror's against certs.d: /etc/docker/daemon.json and a SIGHUP reload, no restart),
host-name overrides in /etc/hosts, and SSL_CERT_FILE for Python. The harness is not told anything
but the node image, through the user's option (PYTEST_ADDOPTS=--llmc-node-image=...). Everything is
undone on exit, on failure, on Ctrl-C and on SIGTERM. Needs root (/etc/hosts, port 443).

    python tests/support/upstream.py [--kubernetes V] -- COMMAND...   run COMMAND against it
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import json
import logging
import os
import shlex
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness import versions
from harness.cluster.kind import resolve_kind
from harness.dra.install import KUBELET_PROTOS, kubelet_module, kubelet_version
from harness.stack import images as stack_images
from harness.stack import keda, kueue, lws
from harness.supply import Mode, debian, source
from harness.supply.cache import digest
from harness.supply.registry import qualified

log = logging.getLogger("llmc.upstream")

# One loopback address per registry (each answers on 443, as upstream does); the file hosts share one.
REGISTRIES = {
    "registry-1.docker.io": "127.0.10.1",
    "registry.k8s.io": "127.0.10.2",
    "ghcr.io": "127.0.10.3",
    "quay.io": "127.0.10.4",
}
FILES_ADDRESS = "127.0.10.5"
FILE_HOSTS = ("github.com", "raw.githubusercontent.com", "kind.sigs.k8s.io")
LABEL = "llm-conformance.simulated-upstream"
HOSTS = Path("/etc/hosts")
CERTS_D = Path("/etc/docker/certs.d")
DAEMON_JSON = Path("/etc/docker/daemon.json")
DOCKER_HUB = "https://registry-1.docker.io"
SYSTEM_CAS = Path("/etc/ssl/certs/ca-certificates.crt")
KIND_DOWNLOAD = "/dl/{version}/kind-linux-amd64"


@dataclass(frozen=True)
class Upstream:
    node_image: str  # the simulated node image, by digest: pass it as the user's own node image
    env: dict[str, str]  # what a run against it needs in its environment


@contextlib.contextmanager
def simulated_upstream(kubernetes: str | None = None) -> Iterator[Upstream]:
    kubernetes = kubernetes or versions.pinned()["kubernetes"]
    with contextlib.ExitStack() as undo:
        undo.enter_context(_sigterm_unwinds())
        work = Path(tempfile.mkdtemp(prefix="llmc-upstream-"))
        undo.callback(subprocess.run, ["rm", "-rf", str(work)], check=False)
        ca = _certificates(work, [*REGISTRIES, *FILE_HOSTS])
        undo.enter_context(_hosts_overrides())
        undo.enter_context(_docker_trust(ca))
        for host, address in REGISTRIES.items():
            undo.enter_context(_registry(host, address, work))
        files = _files(kubernetes)
        undo.enter_context(_file_server(files, work))
        bundle = work / "ca-bundle.crt"
        bundle.write_text(SYSTEM_CAS.read_text() + ca.read_text())
        node = _fill(kubernetes)
        name, pinned = node.split("@")
        # The run's pull left the node image's registry digest on the kept local image: drop just that.
        undo.callback(_docker, "rmi", f"{name.rsplit(':', 1)[0]}@{pinned}", check=False)
        env = {
            "SSL_CERT_FILE": str(bundle),
            "PYTEST_ADDOPTS": f"{os.environ.get('PYTEST_ADDOPTS', '')} --llmc-node-image={node}".strip(),
            "LLMC_SIMULATED_NODE_IMAGE": node,
        }
        log.info("simulated upstream ready; node image %s", node)
        yield Upstream(node_image=node, env=env)


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """SIGTERM (CI cancelling, `timeout`) raises KeyboardInterrupt like Ctrl-C, so every override is
    undone on the way out (signal handlers exist only on the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _certificates(work: Path, hosts: list[str]) -> Path:
    """A throwaway CA (valid one day) and one server certificate for every host; returns the CA."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    ca, ca_key = work / "ca.crt", work / "ca.key"
    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", str(ca_key), "-out", str(ca),
        "-subj", "/CN=llmc simulated upstream CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        "-keyout", str(work / "server.key"), "-out", str(work / "server.crt"),
        "-CA", str(ca), "-CAkey", str(ca_key), "-subj", "/CN=llmc simulated upstream",
        "-addext", "subjectAltName=" + ",".join(f"DNS:{h}" for h in hosts),
        "-addext", "extendedKeyUsage=serverAuth",
    )  # fmt: skip
    ca_key.unlink()  # nothing more is signed with it
    return ca


@contextlib.contextmanager
def _hosts_overrides() -> Iterator[None]:
    """Append our lines to /etc/hosts; afterwards remove exactly those (written in place: /etc/hosts
    may be a bind mount)."""
    lines = [f"{address} {host}  # {LABEL}\n" for host, address in REGISTRIES.items()]
    lines += [f"{FILES_ADDRESS} {host}  # {LABEL}\n" for host in FILE_HOSTS]
    original = HOSTS.read_text()
    with HOSTS.open("a") as f:
        f.write(("" if original.endswith("\n") else "\n") + "".join(lines))
    try:
        yield
    finally:
        current = HOSTS.read_text().splitlines(keepends=True)
        with HOSTS.open("w") as f:
            f.write("".join(line for line in current if line not in lines))


@contextlib.contextmanager
def _docker_trust(ca: Path) -> Iterator[None]:
    """certs.d for every registry host (and docker.io, which BuildKit looks up by that name), and
    Docker Hub's endpoint as its own mirror: the only way Docker verifies docker.io against certs.d."""
    made: list[Path] = []
    try:
        for host in (*REGISTRIES, "docker.io"):
            folder = CERTS_D / host
            for path in reversed([folder, *folder.parents]):
                if not path.exists():
                    path.mkdir()
                    made.append(path)
            (folder / "ca.crt").write_bytes(ca.read_bytes())
        with daemon_settings(**{"registry-mirrors": [DOCKER_HUB]}):
            yield
    finally:
        for host in (*REGISTRIES, "docker.io"):
            with contextlib.suppress(FileNotFoundError):
                (CERTS_D / host / "ca.crt").unlink()
        for path in reversed(made):
            path.rmdir()


@contextlib.contextmanager
def daemon_settings(**added: list[str]) -> Iterator[None]:
    """Add to list settings of the running dockerd (registry-mirrors, insecure-registries) through
    daemon.json and a SIGHUP reload; afterwards the file and the running settings are as before."""
    original = DAEMON_JSON.read_bytes() if DAEMON_JSON.exists() else None
    config = json.loads(original) if original else {}
    before = {key: list(config.get(key, [])) for key in added}
    try:
        with _sigterm_unwinds():
            _reload({**config, **{key: [*values, *before[key]] for key, values in added.items()}})
            yield
    finally:
        # A reload without a file keeps the running settings: reset them first, then put the file back.
        _reload({**config, **before})
        if original is None:
            DAEMON_JSON.unlink()
        else:
            DAEMON_JSON.write_bytes(original)


def _reload(config: dict[str, Any], timeout: float = 30) -> None:
    DAEMON_JSON.parent.mkdir(exist_ok=True)
    DAEMON_JSON.write_text(json.dumps(config, indent=2) + "\n")
    os.kill(int(Path("/var/run/docker.pid").read_text()), signal.SIGHUP)
    mirrors = [m.rstrip("/") + "/" for m in config.get("registry-mirrors", [])]
    deadline = time.monotonic() + timeout
    while True:
        running = json.loads(_docker("info", "--format", "{{json .RegistryConfig}}"))
        insecure = set(running.get("IndexConfigs") or {}) | set(running.get("InsecureRegistryCIDRs") or [])
        if (running.get("Mirrors") or []) == mirrors and set(config.get("insecure-registries", [])) <= insecure:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"dockerd did not take {config} within {timeout:.0f} s (has {running})")
        time.sleep(0.5)


@contextlib.contextmanager
def _registry(host: str, address: str, work: Path) -> Iterator[None]:
    name = f"llmc-upstream-{host.replace('.', '-')}"
    _docker("rm", "-f", name, check=False)
    _docker(
        "run", "-d", "--name", name, "--label", LABEL,
        "-p", f"{address}:443:443", "-v", f"{work}:/certs:ro",
        "-e", "REGISTRY_HTTP_ADDR=0.0.0.0:443",
        "-e", "REGISTRY_HTTP_TLS_CERTIFICATE=/certs/server.crt",
        "-e", "REGISTRY_HTTP_TLS_KEY=/certs/server.key",
        versions.pinned()["registry"]["image"],
    )  # fmt: skip
    try:
        _wait_https(host)
        yield
    finally:
        _docker("rm", "-f", name, check=False)


def _wait_https(host: str, timeout: float = 30) -> None:
    context = ssl.create_default_context(cafile=str(CERTS_D / host / "ca.crt"))
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"https://{host}/v2/", timeout=2, context=context).close()
            return
        except OSError as e:
            if time.monotonic() > deadline:
                raise RuntimeError(f"simulated {host} did not answer in {timeout:.0f} s: {e}") from None
            time.sleep(0.5)


def _files(kubernetes: str) -> dict[tuple[str, str], bytes]:
    """(host, path) -> body: release manifests rendered from the modules, the kubelet's .proto
    files from the Go module cache, and the kind binary."""
    files: dict[tuple[str, str], bytes] = {}
    v = versions.pinned()
    for name, objects in (("lws", lws.objects), ("kueue", kueue.release_objects), ("keda", keda.objects)):
        host, path = v[name]["manifests"].removeprefix("https://").split("/", 1)
        body = yaml.dump_all(objects(Mode.SOURCE), Dumper=yaml.CSafeDumper, sort_keys=False)
        files[(host, "/" + path)] = body.encode()
    from fake_gpu import protos

    for rel in protos.SOURCES.values():
        url = KUBELET_PROTOS.format(version=kubelet_version(), path=rel).removeprefix("https://")
        host, path = url.split("/", 1)
        files[(host, "/" + path)] = (kubelet_module() / rel).read_bytes()
    kind_path = KIND_DOWNLOAD.format(version=v["kind"])
    files[("kind.sigs.k8s.io", kind_path)] = resolve_kind().read_bytes()
    return files


@contextlib.contextmanager
def _file_server(files: dict[tuple[str, str], bytes], work: Path) -> Iterator[None]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = files.get((self.headers.get("Host", "").split(":")[0], self.path))
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, format: str, *args: object) -> None:
            log.debug(format, *args)

    server = http.server.ThreadingHTTPServer((FILES_ADDRESS, 443), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(work / "server.crt", work / "server.key")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def _fill(kubernetes: str) -> str:
    """Push what source mode built under the upstream names; returns the node image's reference."""
    built = source.build_all(kubernetes)
    stack = [*stack_images.build_controllers(), stack_images.build_prometheus()]
    upstream = ("docker.io/", *(f"{host}/" for host in REGISTRIES))
    for image in [*built.cluster, *stack]:
        if qualified(image).startswith(upstream):  # not our own (pod-routes): it is in the node image only
            _push(image, image)
    packages = tuple(versions.pinned()["mock_vllm"]["debian_packages"])
    _push(debian.base("python-base", packages, Mode.SOURCE), versions.pinned()["registry_base"])
    node = _preloaded_node(built.node, list(built.cluster))
    repository = f"docker.io/kindest/node:{kubernetes}-simulated"
    digest = _push(node, repository)
    return f"{repository}@{digest}"


def _push(local: str, name: str) -> str:
    """Push `local` as `name` (docker.io names through registry-1.docker.io); returns its digest."""
    full = qualified(name)
    hub = full.removeprefix("docker.io/")
    target = f"registry-1.docker.io/{hub}" if hub != full else full
    if target != local:
        _docker("tag", local, target)
    out = _docker("push", target, timeout=900)
    if target != local:
        _docker("rmi", target, check=False)
    pushed = next((w for w in out.split() if w.startswith("sha256:")), "")
    if not pushed:
        raise RuntimeError(f"docker push {target}: no digest in its output:\n{out}")
    return pushed


def _preloaded_node(node: str, images: list[str]) -> str:
    """Source mode's node image with the cluster's images in containerd's store, imported the way
    `kind build node-image` does it (ctr import --no-unpack into a running build container, then
    commit); kept, by the inputs' image ids, for the next simulation."""
    name = "llmc-upstream-node-build"
    inspected = json.loads(_docker("image", "inspect", node, *images))
    config = inspected[0]["Config"]
    tag = f"llm-conformance.local/simulated-node:{digest([i['Id'] for i in inspected])}"
    if _succeeds("image", "inspect", tag):
        return tag
    _docker("rm", "-f", name, check=False)
    _docker("run", "-d", "--name", name, "--privileged", "--entrypoint", "sleep", node, "infinity")
    try:
        _docker("exec", "-d", name, "containerd")
        deadline = time.monotonic() + 60
        while not _succeeds("exec", name, "ctr", "version"):
            if time.monotonic() > deadline:
                raise RuntimeError("containerd did not start in the node-image build container")
            time.sleep(1)
        save = subprocess.Popen(["docker", "save", *images], stdout=subprocess.PIPE)
        imported = subprocess.run(
            ["docker", "exec", "-i", name, "ctr", "--namespace=k8s.io", "images", "import",
             "--label=io.cri-containerd.pinned=pinned", "--all-platforms", "--no-unpack", "--digests", "-"],
            stdin=save.stdout, capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        save.wait(timeout=60)
        if imported.returncode != 0 or save.returncode != 0:
            raise RuntimeError(f"preloading the node image failed: {imported.stderr.strip()}")
        _docker("exec", name, "sh", "-c", "pkill -x containerd; while pgrep -x containerd; do sleep 0.2; done")
        changes = [
            "--change", f"ENTRYPOINT {json.dumps(config['Entrypoint'])}",
            "--change", f"CMD {json.dumps(config['Cmd'] or [])}",
        ]  # fmt: skip
        _docker("commit", *changes, name, tag, timeout=900)
        return tag
    finally:
        _docker("rm", "-f", name, check=False)


def _docker(*args: str, check: bool = True, timeout: float = 300) -> str:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"docker {shlex.join(args[:4])} failed: {proc.stderr.strip()[-2000:]}")
    return proc.stdout


def _succeeds(*args: str) -> bool:
    return subprocess.run(["docker", *args], capture_output=True, timeout=60).returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kubernetes", help="the node image's Kubernetes (default: versions.yaml's)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND...: run against the simulation")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give a command after --")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with simulated_upstream(args.kubernetes) as up:
        return stopping_child(command, {**os.environ, **up.env}, timeout=None).returncode


def stopping_child(
    command: list[str], env: dict[str, str], timeout: float | None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `command`; if this process is interrupted, SIGTERM it and give it time to clean up (a
    harness run then deletes its testbed) before the simulation is taken down."""
    capture = subprocess.PIPE if timeout is not None else None
    with subprocess.Popen(command, env=env, cwd=cwd, text=True, stdout=capture, stderr=capture) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except BaseException:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=600)
            raise
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


if __name__ == "__main__":
    sys.exit(main())
