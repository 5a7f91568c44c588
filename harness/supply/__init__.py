"""Image supply: where the testbed's images come from, behind one interface.

Modes:
  registry  pull upstream images on the host (kind's published node image by digest, registry.k8s.io,
            ...) and `kind load` into the nodes what they run; default where registries answer
  source    build every image from pinned Go modules and Debian packages, serve them from a local
            registry that the nodes use as their mirror; default where registries do not answer
  mirror    a user-given registry laid out like the local one (`harness images push --to URL`)

Whatever the mode, the rest of the harness sees a node image name and, for the nodes, containerd
mirror settings: upstream image names work unchanged.
"""

from __future__ import annotations

import enum
import logging
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from harness import progress, versions
from harness.supply import registry as local_registry
from harness.supply.cache import cache_dir, log_file
from harness.supply.nodeimage import copy_kubectl, registry_node_image

log = logging.getLogger("llmc.supply")

UPSTREAM_PROBES = (("registry-1.docker.io", 443), ("registry.k8s.io", 443))


class Mode(enum.StrEnum):
    REGISTRY = "registry"
    SOURCE = "source"
    MIRROR = "mirror"


def detect_mode(timeout: float = 3.0) -> Mode:
    """registry when the upstream registries answer, else source."""
    for host, port in UPSTREAM_PROBES:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                pass
        except OSError:
            return Mode.SOURCE
    return Mode.REGISTRY


@dataclass
class Supplied:
    """What a testbed gets from the supply."""

    node_image: str
    mirrors_dir: str | None  # containerd certs.d folder to mount into the nodes
    preload: tuple[str, ...] = ()  # pulled on the host, `kind load`ed once the nodes exist (registry mode)


class ImageSupply:
    """Prepares images for one testbed (on its Docker network) and cleans up after it."""

    def __init__(
        self, mode: Mode, cluster: str, network: str, mirror_url: str | None = None, node_image: str | None = None
    ) -> None:
        if mode is Mode.MIRROR and not mirror_url:
            raise ValueError("mirror mode needs a mirror URL (--llmc-image-mirror, or --image-mirror for `harness`)")
        self.mode = mode
        self.node_image = node_image  # the user's own (registry mode)
        self.cluster = cluster
        self.network = network
        self.mirror_url = mirror_url.rstrip("/") if mirror_url else None
        self.registry: local_registry.LocalRegistry | None = None

    def prepare(self, kubernetes: str) -> Supplied:
        if self.mode is Mode.REGISTRY:
            image = registry_node_image(kubernetes, self.node_image)
            busybox = versions.pinned()["busybox"]["image"]
            self.pull([image, busybox])
            copy_kubectl(image)
            return Supplied(node_image=image, mirrors_dir=None, preload=(busybox,))
        mirrors = mirrors_path(self.cluster)
        if self.mode is Mode.MIRROR:
            assert self.mirror_url is not None
            image = f"docker.io/kindest/node:{kubernetes}"
            host = self.mirror_url.split("://", 1)[-1]
            _pull(f"{host}/{image}")
            subprocess.run(["docker", "tag", f"{host}/{image}", image], check=True)
            local_registry.write_mirrors(mirrors, self.mirror_url)
            return Supplied(node_image=image, mirrors_dir=str(mirrors))

        from harness.supply import source

        images = source.build_all(kubernetes)
        self.registry = local_registry.LocalRegistry(f"{self.cluster}-registry", images.registry, self.network)
        self.registry.start()
        log.info("local registry %s on 127.0.0.1:%d is the nodes' mirror", self.registry.name, self.registry.port)
        self.registry.push(list(images.cluster))
        local_registry.write_mirrors(mirrors, self.registry.endpoint)
        return Supplied(node_image=images.node, mirrors_dir=str(mirrors))

    def attach(self) -> None:
        """For a reused cluster: find the local registry an earlier run left running with it."""
        if self.mode is Mode.SOURCE:
            registry = local_registry.LocalRegistry(
                f"{self.cluster}-registry", versions.pinned()["registry"]["image"], self.network
            )
            if registry.attach():
                self.registry = registry

    def pull(self, names: list[str]) -> list[str]:
        """Registry mode: pull on the host (the nodes then get them by `kind load`); returns the names."""
        for name in names:
            _pull(name)
            log.info("pulled %s (%s)", name, _repo_digest(name))
        return names

    def push(self, names: list[str]) -> None:
        """Make our own images (mock vLLM, fake GPU driver, ...) pullable by the nodes."""
        if self.registry is None:
            raise RuntimeError("no local registry in this mode; load images with `kind load docker-image`")
        self.registry.push(names)

    def close(self) -> None:
        if self.registry is not None:
            self.registry.remove()
            self.registry = None


def _pull(image: str) -> None:
    try:
        with progress.step(log, f"docker pull {image}", quiet=True) as running:
            progress.run(["docker", "pull", image], log_file("docker-pull", image), running)
    except RuntimeError as e:
        raise RuntimeError(
            f"{e}\n(no registry reachable? use image mode source: --llmc-image-mode, or --image-mode for `harness`)"
        ) from None


def _repo_digest(image: str) -> str:
    proc = subprocess.run(
        ["docker", "image", "inspect", "--format", '{{join .RepoDigests " "}}', image], capture_output=True, text=True
    )
    return proc.stdout.strip() or "no registry digest"


def mirrors_path(cluster: str) -> Path:
    return cache_dir() / "clusters" / cluster / "certs.d"
