"""The mock vLLM image: built locally in every image mode (there is no upstream image to pull).

Its source is the installed `mock_vllm` package (the `mock-vllm` distribution in workloads/, which
tox and the dev extras install), so a wheel-installed harness finds it too.
"""

from __future__ import annotations

import functools

from harness import versions
from harness.supply import rootfs
from harness.supply.images import DockerImage, build_image, package_sources
from harness.supply.source import recipes


def mock_vllm_image() -> str:
    """The content-tagged name (`<pinned>-<input key>`) manifests run: nodes cache images by tag
    (IfNotPresent), so a changed engine needs a new tag or a reused testbed keeps the old one."""
    return _image().names[1]


def build_mock_vllm() -> str:
    """Build (or find cached) the mock vLLM image; returns its name for `testbed.load_images`."""
    v = versions.pinned()
    rootfs.image("python-base", v["debian"], tuple(v["mock_vllm"]["debian_packages"]))
    return build_image(_image())[1]


@functools.cache
def _image() -> DockerImage:
    v = versions.pinned()
    base = rootfs.image_name("python-base", v["debian"], tuple(v["mock_vllm"]["debian_packages"]))
    files = package_sources("mock_vllm", "pip install ./workloads/mock-vllm")
    pinned: str = v["mock_vllm"]["image"]
    image = DockerImage(names=(pinned,), recipe=recipes() / "mock-vllm", files=files, build_args={"BASE": base})
    return DockerImage((pinned, f"{pinned}-{image.key()[:12]}"), image.recipe, image.files, image.build_args)
