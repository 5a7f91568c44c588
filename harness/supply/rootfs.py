"""Debian root file systems made with mmdebstrap and imported as base images."""

from __future__ import annotations

import logging
import time

from harness import progress
from harness.supply import docker_cli
from harness.supply.cache import Step

MIRROR = "http://deb.debian.org/debian"

log = logging.getLogger("llmc.supply")


def _step(name: str, suite: str, packages: tuple[str, ...]) -> Step:
    return Step(f"rootfs-{name}", {"suite": suite, "packages": sorted(packages), "mirror": MIRROR})


def image_name(name: str, suite: str, packages: tuple[str, ...]) -> str:
    """The name image() gives this base, without building it."""
    return f"llm-conformance.local/{name}:{_step(name, suite, packages).key}"


def image(name: str, suite: str, packages: tuple[str, ...]) -> str:
    """A base image from a minimal Debian `suite` with `packages`; returns its (local) name."""
    step = _step(name, suite, packages)
    tag = image_name(name, suite, packages)
    if docker_cli.image_exists(tag):
        return tag
    tarball = step.output / "rootfs.tar"
    if not step.done():
        started = time.monotonic()
        step.output.mkdir(parents=True, exist_ok=True)
        cmd = [
            "mmdebstrap",
            "--variant=minbase",
            f"--include={','.join(sorted(packages))}",
            suite,
            str(tarball),
            MIRROR,
        ]
        with progress.step(log, f"mmdebstrap {suite} for {name} ({len(packages)} packages)") as running:
            progress.run(cmd, step.output / "mmdebstrap.log", running)
        step.finish(seconds=time.monotonic() - started)
    with progress.step(log, f"docker import {name} root file system", quiet=True):
        docker_cli.run("import", str(tarball), tag)
    return tag
