"""The mock vLLM image: built locally in every image mode (there is no upstream image to pull).

Its source is the installed `mock_vllm` package (the `mock-vllm` distribution in workloads/, which
tox and the dev extras install), so a wheel-installed harness finds it too.
"""

from __future__ import annotations

from harness import versions
from harness.supply import rootfs
from harness.supply.images import DockerImage, build_image, package_sources
from harness.supply.source import recipes


def mock_vllm_image() -> str:
    image: str = versions.pinned()["mock_vllm"]["image"]
    return image


def build_mock_vllm() -> str:
    """Build (or find cached) the mock vLLM image; returns its name for `testbed.load_images`."""
    v = versions.pinned()
    base = rootfs.image("python-base", v["debian"], tuple(v["mock_vllm"]["debian_packages"]))
    image = DockerImage(
        names=(mock_vllm_image(),),
        recipe=recipes() / "mock-vllm",
        files=package_sources("mock_vllm", "pip install ./workloads"),
        build_args={"BASE": base},
    )
    return build_image(image)[0]
