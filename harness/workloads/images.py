"""The mock vLLM image: built locally in every image mode (there is no upstream image to pull).

Its source is the installed `mock_vllm` package (the `mock-vllm` distribution in workloads/, which
tox and the dev extras install), so a wheel-installed harness finds it too.
"""

from __future__ import annotations

import functools

from harness import versions
from harness.supply import Mode, debian
from harness.supply.images import DockerImage, build_image, package_sources
from harness.supply.source import recipes


def mock_vllm_image() -> str:
    """The content-tagged name (`<pinned>-<key of the engine's files>`) manifests run: nodes cache
    images by tag (IfNotPresent), so a changed engine needs a new tag or a reused testbed keeps the old one."""
    return _image().names[1]


def build_mock_vllm(mode: Mode) -> str:
    """Build (or find cached) the mock vLLM image on `mode`'s Debian base; returns its name for
    `testbed.load_images`."""
    image = _image()
    base = debian.base("python-base", tuple(versions.pinned()["mock_vllm"]["debian_packages"]), mode)
    return build_image(DockerImage(image.names, image.recipe, image.files, {"BASE": base}))[1]


@functools.cache
def _image() -> DockerImage:
    """Names and files, without the base: the tag is the same whichever mode built the base."""
    files = package_sources("mock_vllm", "pip install ./workloads")
    pinned: str = versions.pinned()["mock_vllm"]["image"]
    image = DockerImage(names=(pinned,), recipe=recipes() / "mock-vllm", files=files)
    return DockerImage((pinned, f"{pinned}-{image.key()[:12]}"), image.recipe, image.files)
