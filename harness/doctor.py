"""What a testbed run needs on this machine for an image mode, and how to get what is missing.

`harness doctor [--image-mode MODE]` prints every finding; a testbed run calls require() before it
creates anything, so a missing prerequisite stops it at once with the same message instead of
minutes into a build. Nothing here starts a container: Docker is judged by `docker info`.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker

from harness import versions
from harness.supply import UPSTREAM_PROBES, Mode, detect_mode, docker_cli, nodeimage
from harness.supply.cache import cache_dir

GO_MINIMUM = (1, 26)  # the pinned Kubernetes and its components build with it
CGROUP_V1_DROPPED = (1, 35)  # Kubernetes' kubelet refuses cgroup v1 by default from here on
GIB = 2**30
# Free disk per file system holding the harness's cache or Docker's data: a cold source build
# (Go module and build caches, root file systems, every image) or, once built, the testbed's nodes.
DISK_COLD_SOURCE = 30 * GIB
DISK_OTHERWISE = 10 * GIB
# Every kind node runs systemd and a kubelet, each taking inotify instances (kind's known issues).
INOTIFY = {"fs.inotify.max_user_instances": 512, "fs.inotify.max_user_watches": 524288}
PROC_SYS = Path("/proc/sys")
PROBE_SECONDS = 5.0  # the whole reachability check, whatever the number of endpoints
EXIT_MISSING = 3


@dataclass(frozen=True)
class Finding:
    name: str
    found: str  # what is there
    problem: str = ""  # what is missing or wrong; '' when fine
    fix: str = ""  # how to get it

    @property
    def ok(self) -> bool:
        return not self.problem


class MissingPrerequisites(RuntimeError):
    """A testbed run stopped before creating anything: the machine lacks what the image mode needs."""

    def __init__(self, mode: Mode, problems: list[Finding]) -> None:
        self.problems = problems
        super().__init__(describe(mode, problems))


def describe(mode: Mode, problems: list[Finding]) -> str:
    lines = [f"this machine lacks what image mode {mode} needs (`harness doctor --image-mode {mode}` checks again):"]
    for p in problems:
        lines += [f"  - {p.name}: {p.problem}", f"    fix: {p.fix}"]
    return "\n".join(lines)


def findings(
    mode: Mode, mirror_url: str | None = None, kubernetes: str | None = None, node_image: str | None = None
) -> list[Finding]:
    """Every check for `mode`, in the order a person would fix them."""
    if kubernetes is None:
        kubernetes = nodeimage.newest() if mode is Mode.REGISTRY else versions.pinned()["kubernetes"]
    info, error = _docker_info()
    result = [_docker(info, error)]
    if mode is Mode.REGISTRY:
        result.append(_node_image(kubernetes, node_image))
    if info is not None:
        result.append(_cgroup(info, mode, kubernetes, node_image))
    # Registry mode takes a missing kubectl from the node image; the other modes build it.
    builds_kubernetes = mode is Mode.SOURCE or (mode is Mode.MIRROR and shutil.which("kubectl") is None)
    if mode is not Mode.REGISTRY:
        result.append(_go(mode, builds_kubernetes))
    result.append(_kubectl(mode))
    if mode is not Mode.REGISTRY:  # registry mode builds our images' Debian base with a Dockerfile
        result.append(
            _program(
                "mmdebstrap",
                "the mock vLLM and fake GPU images (and, in source mode, every base image) are Debian "
                "root file systems it makes",
                "apt-get install mmdebstrap",
            )
        )
    if mode is Mode.SOURCE:
        result.append(
            _program("cc", "source mode compiles the pause binary with `cc -static`", "apt-get install gcc libc6-dev")
        )
    result += _disk(mode, kubernetes, info)
    result += _inotify()
    if mode is Mode.REGISTRY:
        result += _registries()
    elif mode is Mode.MIRROR:
        result.append(_mirror(mirror_url))
    return result


def problems(
    mode: Mode, mirror_url: str | None = None, kubernetes: str | None = None, node_image: str | None = None
) -> list[Finding]:
    return [f for f in findings(mode, mirror_url, kubernetes, node_image) if not f.ok]


def require(
    mode: Mode, mirror_url: str | None = None, kubernetes: str | None = None, node_image: str | None = None
) -> None:
    """Raise MissingPrerequisites, listing each problem and its fix, unless the machine has it all."""
    missing = problems(mode, mirror_url, kubernetes, node_image)
    if missing:
        raise MissingPrerequisites(mode, missing)


def docker_info() -> dict[str, Any]:
    """`docker info` as the engine reports it (bounded: a hung engine is a missing one)."""
    info: dict[str, Any] = docker.from_env(timeout=int(PROBE_SECONDS)).info()
    return info


def _docker_info() -> tuple[dict[str, Any] | None, str]:
    try:
        return docker_info(), ""
    except Exception as e:  # the SDK raises its own, requests' or OS errors for a missing engine
        return None, f"{type(e).__name__}: {e}"


def _docker(info: dict[str, Any] | None, error: str) -> Finding:
    if info is None:
        return Finding(
            "docker",
            "no engine",
            f"no Docker engine answers ({error[:300]})",
            "start it (`systemctl start docker`), or install it (`apt-get install docker.io`; this repository's "
            ".ci/install-docker does both); DOCKER_HOST may name another engine",
        )
    found = f"engine {info.get('ServerVersion', '?')} at {os.environ.get('DOCKER_HOST', 'the default socket')}"
    rootless = any("name=rootless" in option for option in info.get("SecurityOptions") or [])
    authorization = (info.get("Plugins") or {}).get("Authorization") or []
    if authorization:
        found += f"; authorization plugins {authorization} may refuse the --privileged containers kind runs"
    if rootless and str(info.get("CgroupVersion")) == "1":
        return Finding(
            "docker",
            found + "; rootless",
            "rootless Docker on cgroup v1: kind's rootless mode needs cgroup v2",
            "run a rootful engine, or boot the host on cgroup v2 (kernel parameter systemd.unified_cgroup_hierarchy=1)",
        )
    return Finding("docker", found + ("; rootless (kind needs cgroup v2 delegation for it)" if rootless else ""))


def _node_image(kubernetes: str, given: str | None) -> Finding:
    if given:
        return Finding("node image", f"{given} (your own)")
    try:
        return Finding("node image", f"kind's published {nodeimage.registry_node_image(kubernetes)}")
    except nodeimage.UnpublishedVersion as e:
        return Finding(
            "node image",
            f"none published for Kubernetes {kubernetes}",
            e.problem,
            e.fix,
        )


def _cgroup(info: dict[str, Any], mode: Mode, kubernetes: str, node_image: str | None = None) -> Finding:
    driver = info.get("CgroupDriver", "?")
    if str(info.get("CgroupVersion", "2")) != "1":
        return Finding("cgroup", f"v2 ({driver} driver)")
    if mode is Mode.REGISTRY and not node_image and _minor(kubernetes) >= CGROUP_V1_DROPPED:
        return Finding(
            "cgroup",
            f"v1 ({driver} driver)",
            f"Docker runs on cgroup v1, and kind's published node images for Kubernetes 1.35+ (this run: "
            f"{kubernetes}) no longer support it: their nodes would not boot",
            "use --image-mode source (its node image runs on cgroup v1: the harness sets the kubelets' "
            "failCgroupV1: false), or boot the host on cgroup v2 (kernel parameter systemd.unified_cgroup_hierarchy=1)",
        )
    return Finding("cgroup", f"v1 ({driver} driver): the harness sets the kubelets' failCgroupV1: false")


def _minor(version: str) -> tuple[int, int]:
    match = re.search(r"(\d+)\.(\d+)", version)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def go_version() -> str:
    """`go1.26.8`, as the go command on PATH reports it."""
    return subprocess.run(
        ["go", "env", "GOVERSION"], capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()


def _go(mode: Mode, builds_kubernetes: bool) -> Finding:
    minimum = ".".join(map(str, GO_MINIMUM))
    why = (
        "source mode builds every image with it"
        if mode is Mode.SOURCE
        else "the fake GPU driver's gRPC protos come from the k8s.io/kubelet module"
        + ("; kubectl, not on PATH, is built from k8s.io/kubernetes" if builds_kubernetes else "")
    )
    fix = f"install Go ≥ {minimum} (go.dev/dl, or your distribution's golang package) and put `go` on PATH"
    if shutil.which("go") is None:
        return Finding("go", "not on PATH", f"no `go` on PATH ({why})", fix)
    try:
        reported = go_version()
    except (OSError, subprocess.SubprocessError) as e:
        return Finding("go", "on PATH", f"`go env GOVERSION` failed: {e}", fix)
    version = _minor(reported)
    if builds_kubernetes and version < GO_MINIMUM:
        return Finding("go", reported, f"{reported} is older than go{minimum} ({why})", fix)
    return Finding("go", reported)


def _kubectl(mode: Mode) -> Finding:
    path = shutil.which("kubectl")
    if path:
        return Finding("kubectl", path)
    if mode is Mode.REGISTRY:
        return Finding("kubectl", "not on PATH: the node image's own is copied out and used")
    return Finding(
        "kubectl", "not on PATH: built from k8s.io/kubernetes on first use (about 15 min on 2 cores, cached)"
    )


def _program(name: str, why: str, fix: str) -> Finding:
    path = shutil.which(name)
    return Finding(name, path) if path else Finding(name, "not on PATH", f"no `{name}` on PATH ({why})", fix)


def _disk(mode: Mode, kubernetes: str, info: dict[str, Any] | None) -> list[Finding]:
    cold = mode is Mode.SOURCE and not (info and docker_cli.image_exists(f"docker.io/kindest/node:{kubernetes}"))
    need = DISK_COLD_SOURCE if cold else DISK_OTHERWISE
    why = "a first source-mode build" if cold else "the testbed's nodes and images"
    places = [cache_dir()]
    root = Path(info.get("DockerRootDir", "")) if info else None
    if root and root.is_dir():  # a remote engine's folder is not here to measure
        places.append(root)
    by_device: dict[int, list[Path]] = {}
    for path in places:
        by_device.setdefault(path.stat().st_dev, []).append(path)
    result = []
    for paths in by_device.values():
        free = shutil.disk_usage(paths[0]).free
        where = ", ".join(map(str, paths))
        found = f"{free / GIB:.0f} GiB free for {where}"
        if free >= need:
            result.append(Finding("disk", found))
            continue
        problem = f"{free / GIB:.0f} GiB free for {where}; {why} needs about {need // GIB} GiB"
        fix = "free space (`docker system prune`, `go clean -cache`), or point LLMC_CACHE_DIR at a larger disk"
        result.append(Finding("disk", found, problem, fix))
    return result


def _inotify() -> list[Finding]:
    low: dict[str, int] = {}
    found = []
    for key, minimum in INOTIFY.items():
        try:
            value = int((PROC_SYS / key.replace(".", "/")).read_text())
        except (OSError, ValueError):
            return [Finding("inotify", f"{PROC_SYS} not readable: limits not checked")]
        found.append(f"{key.rsplit('.', 1)[-1]}={value}")
        if value < minimum:
            low[key] = minimum
    if not low:
        return [Finding("inotify", ", ".join(found))]
    settings = " ".join(f"{key}={value}" for key, value in low.items())
    return [
        Finding(
            "inotify",
            ", ".join(found),
            f"inotify limits too low for a multi-node kind cluster (nodes fail to boot): need {settings}",
            f"sysctl -w {settings} (and, to keep them after a reboot, the same lines in /etc/sysctl.d/99-kind.conf)",
        )
    ]


def _registries() -> list[Finding]:
    fix = (
        "use --image-mode source (everything built here; `harness doctor --image-mode source` lists what it "
        "needs), or --image-mode mirror --image-mirror URL"
    )
    timeout = PROBE_SECONDS / len(UPSTREAM_PROBES)
    result = []
    for host, port in UPSTREAM_PROBES:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(Finding("registry", f"{host}:{port} answers"))
        except OSError as e:
            result.append(Finding("registry", "no answer", f"{host}:{port} does not answer ({e})", fix))
    return result


def _mirror(url: str | None) -> Finding:
    if not url:
        return Finding(
            "mirror", "none given", "mirror mode needs the mirror's URL", "pass --image-mirror http://HOST:PORT"
        )
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/v2/", timeout=PROBE_SECONDS):
            return Finding("mirror", f"{url} answers")
    except urllib.error.HTTPError as e:  # an answer, if not a welcome one (401: it wants credentials)
        return Finding("mirror", f"{url} answers (HTTP {e.code})")
    except (urllib.error.URLError, OSError) as e:
        return Finding(
            "mirror",
            "no answer",
            f"{url} does not answer ({e})",
            "start the mirror, and fill it with `harness images push --to HOST:PORT`",
        )


def run(mode: Mode | None, mirror_url: str | None, node_image: str | None = None) -> int:
    """`harness doctor`: print every finding with its fix; EXIT_MISSING when anything is missing."""
    if mode is None:
        mode = detect_mode()
        how = "detected: upstream registries " + ("answer" if mode is Mode.REGISTRY else "do not answer")
    else:
        how = "given"
    print(f"image mode {mode} ({how})")
    results = findings(mode, mirror_url, node_image=node_image)
    width = max(len(f.name) for f in results)
    for f in results:
        print(f"  {'ok' if f.ok else 'PROBLEM':<7} {f.name:<{width}}  {f.found if f.ok else f.problem}")
        if not f.ok:
            print(f"  {'':<7} {'':<{width}}  fix: {f.fix}")
    missing = [f for f in results if not f.ok]
    if missing:
        print(f"{len(missing)} to fix before a testbed run in image mode {mode}")
        return EXIT_MISSING
    print(f"ready for a testbed run in image mode {mode}")
    return 0
