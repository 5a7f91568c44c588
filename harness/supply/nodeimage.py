"""Registry mode's node image: kind's published image for the Kubernetes version, by digest, or the
user's own (spec field nodeImage, --llmc-node-image, --node-image for `harness`)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from harness import versions
from harness.supply.cache import cache_dir

DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


class UnpublishedVersion(ValueError):
    """kind published no node image for this Kubernetes version."""

    def __init__(self, problem: str, fix: str) -> None:
        self.problem, self.fix = problem, fix
        super().__init__(f"{problem}. {fix}")


def published() -> dict[str, str]:
    """Kubernetes version -> kind's node image, pinned by digest (versions.yaml `node_images`)."""
    images: dict[str, str] = versions.pinned()["node_images"]
    return images


def newest() -> str:
    """The newest Kubernetes version kind published a node image for: registry mode's default."""
    return max(published(), key=lambda v: tuple(int(p) for p in v.removeprefix("v").split(".")))


def registry_node_image(kubernetes: str, given: str | None = None) -> str:
    """The image registry mode runs the nodes on; raises UnpublishedVersion (before anything is made)."""
    if given:
        return given
    image = published().get(kubernetes)
    if image is None:
        raise UnpublishedVersion(
            f"kind {versions.pinned()['kind']} published node images for Kubernetes {', '.join(published())} "
            f"only, not {kubernetes}",
            "Use one of those (the spec's `kubernetes`), or image mode source "
            "(--llmc-image-mode source, or --image-mode source for `harness`), which builds any version, or "
            "a node image of your own (--llmc-node-image, --node-image for `harness`, or the spec's nodeImage)",
        )
    return image


def node_kubectl() -> Path:
    """Where registry mode keeps the kubectl it copied out of the node image."""
    return cache_dir() / "bin" / "kubectl-from-node-image"


def copy_kubectl(image: str) -> None:
    """Registry mode without kubectl on PATH: the node image has one of the cluster's own version."""
    if shutil.which("kubectl"):
        return
    target = node_kubectl()
    target.parent.mkdir(parents=True, exist_ok=True)
    container = subprocess.run(
        ["docker", "create", image], capture_output=True, text=True, check=True, timeout=120
    ).stdout.strip()
    try:
        subprocess.run(
            ["docker", "cp", f"{container}:/usr/bin/kubectl", str(target)], capture_output=True, check=True, timeout=120
        )
    finally:
        subprocess.run(["docker", "rm", container], capture_output=True, timeout=60)
