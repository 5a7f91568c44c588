"""Our own images' Debian base: made by mmdebstrap in source and mirror mode (no registry needed),
built from the pinned public Debian image with apt in registry mode (its users need only Docker)."""

from __future__ import annotations

from harness import versions
from harness.supply import Mode, rootfs
from harness.supply.cache import digest
from harness.supply.images import DockerImage, build_image
from harness.supply.source import recipes


def base(name: str, packages: tuple[str, ...], mode: Mode) -> str:
    """A local base image with Debian's `packages`; returns its name."""
    v = versions.pinned()
    if mode is not Mode.REGISTRY:
        return rootfs.image(name, v["debian"], packages)
    wanted = sorted(packages)
    (image,) = build_image(
        DockerImage(
            names=(f"llm-conformance.local/{name}-registry:{digest([v['registry_base'], wanted])}",),
            recipe=recipes() / "debian-base",
            build_args={"BASE": v["registry_base"], "PACKAGES": " ".join(wanted)},
        )
    )
    return image
