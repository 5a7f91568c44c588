"""The mock vLLM image: built locally in every image mode (there is no upstream image to pull).

Its source is the installed `mock_vllm` package (the `mock-vllm` distribution in workloads/, which
tox and the dev extras install), so a wheel-installed harness finds it too.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from harness import versions
from harness.supply import rootfs
from harness.supply.images import DockerImage, build_image
from harness.supply.source import recipes


def mock_vllm_image() -> str:
    image: str = versions.pinned()["mock_vllm"]["image"]
    return image


def mock_vllm_sources() -> dict[str, Path | str]:
    """The package's modules as text, keyed by their path in the build context (no __pycache__)."""
    spec = importlib.util.find_spec("mock_vllm")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the mock_vllm package is not installed: `pip install ./workloads` (tox does this)")
    package = Path(next(iter(spec.submodule_search_locations)))
    return {f"mock_vllm/{f.relative_to(package)}": f.read_text() for f in sorted(package.rglob("*.py"))}


def build_mock_vllm() -> str:
    """Build (or find cached) the mock vLLM image; returns its name for `testbed.load_images`."""
    v = versions.pinned()
    base = rootfs.image("python-base", v["debian"], tuple(v["mock_vllm"]["debian_packages"]))
    image = DockerImage(
        names=(mock_vllm_image(),),
        recipe=recipes() / "mock-vllm",
        files=mock_vllm_sources(),
        build_args={"BASE": base},
    )
    return build_image(image)[0]
