"""Source mode: build every image a kind testbed needs from Go modules and Debian packages.

Stages, each cached by its inputs (see cache.py):
  go builds      Kubernetes, etcd, CoreDNS, containerd, crictl, the registry   (gobuild.py)
  root file systems  a Debian node rootfs and a slim base                     (rootfs.py)
  images         docker builds from recipes/ with the upstream names          (images.py)
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from harness import versions
from harness.supply import gobuild, rootfs
from harness.supply.cache import Step
from harness.supply.gobuild import GoBuild
from harness.supply.images import DockerImage, build_image

CONTROL_PLANE = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
NODE_BINARIES = ("kubelet", "kubeadm", "kubectl")
POD_ROUTES_IMAGE = "llm-conformance.local/pod-routes:v1"

log = logging.getLogger("llmc.supply")

NODE_PACKAGES = (
    # what kind's base image installs, plus runc and the CNI plugins it builds from source
    "systemd",
    "systemd-sysv",
    "dbus",
    "conntrack",
    "iptables",
    "nftables",
    "iproute2",
    "ethtool",
    "util-linux",
    "mount",
    "kmod",
    "libseccomp2",
    "pigz",
    "fuse-overlayfs",
    "bash",
    "ca-certificates",
    "curl",
    "jq",
    "procps",
    "runc",
    "containernetworking-plugins",
    "socat",
    "e2fsprogs",
)
SLIM_PACKAGES = (
    "iptables",
    "nftables",
    "conntrack",
    "iproute2",
    "kmod",
    "curl",
    "jq",
    "ca-certificates",
    "busybox-static",
)


def recipes() -> Path:
    return Path(str(resources.files("harness.supply").joinpath("recipes")))


def kubernetes_build(version: str) -> GoBuild:
    minor = version.removeprefix("v1.").split(".")[0]
    ldflags = ["-s", "-w"]
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        # kubeadm compares its own version with the control plane's: set them like a release build.
        for key, value in {
            "gitVersion": version,
            "gitMajor": "1",
            "gitMinor": minor,
            "gitCommit": "0" * 40,
            "gitTreeState": "clean",
            "buildDate": "2026-01-01T00:00:00Z",
        }.items():
            ldflags.append(f"-X {pkg}.{key}={value}")
    return GoBuild(
        name="kubernetes",
        module="k8s.io/kubernetes",
        version=version,
        packages=tuple(f"k8s.io/kubernetes/cmd/{b}" for b in (*NODE_BINARIES, *CONTROL_PLANE, "kube-proxy")),
        sibling_version=versions.staging_version(version),
        ldflags=tuple(ldflags),
    )


def component_builds() -> dict[str, GoBuild]:
    v = versions.pinned()
    return {
        "etcd": GoBuild(
            "etcd",
            v["etcd"]["module"],
            v["etcd"]["version"],
            (v["etcd"]["module"],),
            ldflags=("-s", "-w"),
            binary="etcd",
        ),
        "coredns": GoBuild(
            "coredns", v["coredns"]["module"], v["coredns"]["version"], (v["coredns"]["module"],), ldflags=("-s", "-w")
        ),
        "containerd": GoBuild(
            "containerd",
            v["containerd"]["module"],
            v["containerd"]["version"],
            tuple(f"{v['containerd']['module']}/cmd/{c}" for c in ("containerd", "ctr", "containerd-shim-runc-v2")),
            ldflags=("-s", "-w"),
            tags=("no_aufs", "no_zfs", "no_btrfs", "no_devmapper"),
        ),
        "crictl": GoBuild(
            "crictl",
            v["crictl"]["module"],
            v["crictl"]["version"],
            (f"{v['crictl']['module']}/cmd/crictl",),
            ldflags=("-s", "-w"),
        ),
        "registry": GoBuild(
            "registry",
            v["registry"]["module"],
            v["registry"]["version"],
            (f"{v['registry']['module']}/cmd/registry",),
            ldflags=("-s", "-w"),
        ),
    }


@dataclass(frozen=True)
class SourceImages:
    """The images of one source-mode build, by role."""

    node: str
    cluster: tuple[str, ...]  # pushed to the local registry: what the nodes pull
    registry: str  # the local registry's own image, run by Docker on the host


def build_all(kubernetes: str) -> SourceImages:
    started = time.monotonic()
    log.info("source mode: images for Kubernetes %s (steps cached from an earlier run are skipped)", kubernetes)
    v = versions.pinned()
    k8s = gobuild.build(kubernetes_build(kubernetes))
    comps = {name: gobuild.build(recipe) for name, recipe in component_builds().items()}
    pause = _build_pause(kubernetes)
    node_base = rootfs.image("node-base", v["debian"], NODE_PACKAGES)
    slim_base = rootfs.image("slim-base", v["debian"], SLIM_PACKAGES)

    cluster: list[str] = []
    for binary in CONTROL_PLANE:
        cluster += build_image(
            DockerImage(
                names=(f"registry.k8s.io/{binary}:{kubernetes}",),
                recipe=recipes() / "binary",
                files={binary: k8s / binary},
                build_args={"BINARY": binary},
            )
        )
    cluster += build_image(
        DockerImage(
            names=(f"registry.k8s.io/kube-proxy:{kubernetes}",),
            recipe=recipes() / "kube-proxy",
            files={"kube-proxy": k8s / "kube-proxy"},
            build_args={"BASE": slim_base},
        )
    )
    cluster += build_image(
        DockerImage(
            names=(v["etcd"]["image"],),
            recipe=recipes() / "binary",
            files={"etcd": comps["etcd"] / "etcd"},
            build_args={"BINARY": "etcd"},
        )
    )
    cluster += build_image(
        DockerImage(
            names=(v["coredns"]["image"],),
            recipe=recipes() / "coredns",
            files={"coredns": comps["coredns"] / "coredns"},
        )
    )
    cluster += build_image(
        DockerImage(names=tuple(v["pause"]["images"]), recipe=recipes() / "pause", files={"pause": pause})
    )
    cluster += build_image(
        DockerImage(
            names=(POD_ROUTES_IMAGE,),
            recipe=recipes() / "pod-routes",
            build_args={"BASE": slim_base},
        )
    )
    cluster += build_image(
        DockerImage(
            names=(v["busybox"]["image"],),
            recipe=recipes() / "busybox",
            build_args={"BASE": slim_base},
        )
    )
    (registry,) = build_image(
        DockerImage(
            names=(v["registry"]["image"],),
            recipe=recipes() / "registry",
            files={"registry": comps["registry"] / "registry"},
        )
    )

    kind_base = kind_module_dir(v["kind"]) / "images" / "base" / "files"
    cni = (
        (recipes() / "pod-routes" / "default-cni.yaml")
        .read_text()
        .replace("image: IMAGE", f"image: {POD_ROUTES_IMAGE}")
    )
    node_files: dict[str, Path | str] = {
        "kind-base": kind_base,
        "version": kubernetes + "\n",
        "manifests/default-cni.yaml": cni,
    }
    for name in ("containerd", "ctr", "containerd-shim-runc-v2"):
        node_files[f"runtime/{name}"] = comps["containerd"] / name
    node_files["runtime/crictl"] = comps["crictl"] / "crictl"
    for name in NODE_BINARIES:
        node_files[f"kubernetes/{name}"] = k8s / name
    (node,) = build_image(
        DockerImage(
            names=(f"docker.io/kindest/node:{kubernetes}",),
            recipe=recipes() / "node",
            files=node_files,
            build_args={"BASE": node_base},
        )
    )
    log.info("source images ready in %.0f s", time.monotonic() - started)
    return SourceImages(node=node, cluster=tuple(cluster), registry=registry)


def kind_module_dir(version: str) -> Path:
    """The kind module's tree in the Go module cache (its images/base/files are the node's base files)."""
    return gobuild.module_dir("sigs.k8s.io/kind", version)


def _build_pause(kubernetes: str) -> Path:
    """Compile Kubernetes' pause.c (from the k8s.io/kubernetes module tree) as a static binary."""
    module = kubernetes_build(kubernetes)
    source = gobuild.module_dir(module.module, module.version) / "build" / "pause" / "linux" / "pause.c"
    step = Step("pause", {"source": source.read_text(), "cc": _cc_version()})
    if not step.done():
        step.output.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "pause"
            subprocess.run(
                ["cc", "-Os", "-Wall", "-static", "-DVERSION=v" + kubernetes, "-o", str(target), str(source)],
                check=True,
            )
            shutil.copy2(target, step.output / "pause")
        step.finish()
    return step.output / "pause"


def _cc_version() -> str:
    return subprocess.run(["cc", "--version"], capture_output=True, text=True, check=True).stdout.splitlines()[0]


def planned_images(kubernetes: str) -> list[tuple[str, str]]:
    """(image, where source mode gets it from) for `harness images list`."""
    v = versions.pinned()
    k8s = f"k8s.io/kubernetes@{kubernetes}"
    debian = f"Debian {v['debian']} (mmdebstrap)"
    runtime = (
        f"{v['containerd']['module']}@{v['containerd']['version']}, {v['crictl']['module']}@{v['crictl']['version']}"
    )
    rows = [
        (f"docker.io/kindest/node:{kubernetes}", f"sigs.k8s.io/kind@{v['kind']} base files, {debian}, {runtime}, {k8s}")
    ]
    rows += [(f"registry.k8s.io/{b}:{kubernetes}", k8s) for b in CONTROL_PLANE]
    rows.append((f"registry.k8s.io/kube-proxy:{kubernetes}", f"{k8s} on {debian}"))
    for name in ("etcd", "coredns"):
        rows.append((v[name]["image"], f"{v[name]['module']}@{v[name]['version']}"))
    rows += [(image, f"{k8s} build/pause/linux/pause.c (cc -static)") for image in v["pause"]["images"]]
    rows.append((POD_ROUTES_IMAGE, f"this project (recipes/pod-routes) on {debian}"))
    rows.append((v["busybox"]["image"], f"busybox-static from {debian}"))
    rows.append((v["registry"]["image"], f"{v['registry']['module']}@{v['registry']['version']}"))
    return rows
