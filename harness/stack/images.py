"""Source mode for the stack: the controllers' images, built from their Go modules under upstream names.

The Go builds follow each project's Makefile (`go build ./cmd/...` with its version ldflags); the
images follow its Dockerfile (one static binary, non-root user 65532, at the path the manifests'
`command` names). Prometheus comes from Debian's package of the same upstream version (see
versions.yaml for why).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from harness import versions
from harness.supply import gobuild, rootfs
from harness.supply.gobuild import GoBuild
from harness.supply.images import DockerImage, build_image
from harness.supply.source import recipes

log = logging.getLogger("llmc.stack")


@dataclass(frozen=True)
class Controller:
    """One binary of a Go build, installed in an image at the path upstream's manifests run."""

    image: str
    build: str  # key of go_builds()
    binary: str  # output name of `go build -o dir/` (the package's last element)
    path: str  # where upstream's image puts it


def go_builds() -> dict[str, GoBuild]:
    v = versions.pinned()
    lws, kueue, keda = v["lws"], v["kueue"], v["keda"]
    keda_version = keda["version"].removeprefix("v")
    return {
        "lws": GoBuild(
            "lws",
            lws["module"],
            lws["version"],
            (f"{lws['module']}/cmd",),
            ldflags=("-s", "-w", f"-X {lws['module']}/pkg/version.GitVersion={lws['version']}"),
            binary="manager",
        ),
        "kueue": GoBuild(
            "kueue",
            kueue["module"],
            kueue["version"],
            (f"{kueue['module']}/cmd/kueue",),
            ldflags=("-s", "-w", f"-X {kueue['module']}/pkg/version.GitVersion={kueue['version']}"),
            binary="manager",
        ),
        # One build for the three KEDA programs: they share almost every package.
        "keda": GoBuild(
            "keda",
            keda["module"],
            keda["version"],
            tuple(f"{keda['module']}/cmd/{c}" for c in ("operator", "adapter", "webhooks")),
            ldflags=("-s", "-w", f"-X {keda['module']}/version.Version={keda_version}"),
        ),
    }


def controllers() -> list[Controller]:
    v = versions.pinned()
    keda = v["keda"]["images"]
    return [
        Controller(v["lws"]["image"], "lws", "manager", "/manager"),
        Controller(v["kueue"]["image"], "kueue", "manager", "/manager"),
        Controller(keda["operator"], "keda", "operator", "/keda"),
        Controller(keda["metrics-apiserver"], "keda", "adapter", "/keda-adapter"),
        Controller(keda["admission-webhooks"], "keda", "webhooks", "/keda-admission-webhooks"),
    ]


def build_controllers(only: set[str] | None = None) -> list[str]:
    """Build the controller images (of the named Go builds only, if given); returns their names."""
    started = time.monotonic()
    builds = {name: recipe for name, recipe in go_builds().items() if only is None or name in only}
    binaries = {name: gobuild.build(recipe) for name, recipe in builds.items()}
    names: list[str] = []
    for c in controllers():
        if c.build not in binaries:
            continue
        names += build_image(
            DockerImage(
                names=(c.image,),
                recipe=recipes() / "controller",
                files={"binary": binaries[c.build] / c.binary},
                build_args={"TARGET": c.path},
            )
        )
    log.info("stack controller images ready in %.0f s", time.monotonic() - started)
    return names


def build_prometheus() -> str:
    v = versions.pinned()
    base = rootfs.image("prometheus-base", v["debian"], (v["prometheus"]["debian_package"], "ca-certificates"))
    (name,) = build_image(
        DockerImage(
            names=(v["prometheus"]["image"],),
            recipe=recipes() / "prometheus",
            build_args={"BASE": base},
        )
    )
    return name


def module_tree(component: str) -> Path:
    """The component's module in the Go module cache (read-only)."""
    v = versions.pinned()[component]
    return gobuild.module_dir(v["module"], v["version"])
