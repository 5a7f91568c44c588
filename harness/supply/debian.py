"""Our own images' Debian base, one name whatever made it: mmdebstrap in source and mirror mode (no
registry needed), or in registry mode (its users need only Docker) the pinned public Debian image
with the same packages installed by apt. The name is the same so that our images' tags (which name
the base) do not depend on the mode: a base already here is used as it is."""

from __future__ import annotations

from harness import versions
from harness.supply import Mode, docker_cli, rootfs
from harness.supply.images import DockerImage, build_image
from harness.supply.source import recipes


def name(base: str, packages: tuple[str, ...]) -> str:
    return rootfs.image_name(base, versions.pinned()["debian"], packages)


def base(base: str, packages: tuple[str, ...], mode: Mode) -> str:
    """Make the base unless it is here; returns its name."""
    v = versions.pinned()
    if mode is not Mode.REGISTRY:
        return rootfs.image(base, v["debian"], packages)
    tag = name(base, packages)
    if not docker_cli.image_exists(tag):
        build_image(
            DockerImage(
                names=(tag,),
                recipe=recipes() / "debian-base",
                build_args={"BASE": v["registry_base"], "PACKAGES": " ".join(sorted(packages))},
            )
        )
    return tag
