"""Registry mode's node images: kind's published ones, each by digest; other versions refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import versions
from harness.spec import load_spec
from harness.supply import nodeimage

CLUSTERS = Path(__file__).parents[2] / "clusters"


def test_every_published_node_image_is_pinned_by_digest_under_its_version() -> None:
    images = nodeimage.published()
    assert images, "versions.yaml lists no published node image"
    for version, image in images.items():
        assert nodeimage.DIGEST.search(image), f"{image} is not pinned by @sha256 digest"
        assert image.startswith(f"docker.io/kindest/node:{version}@sha256:"), image


def test_a_published_version_gets_its_image_and_the_newest_is_the_default() -> None:
    assert nodeimage.registry_node_image("v1.36.4") == nodeimage.published()["v1.36.4"]
    assert nodeimage.newest() == "v1.37.0"


def test_an_unpublished_version_is_refused_naming_the_published_ones_and_source_mode() -> None:
    pinned = versions.pinned()["kubernetes"]
    assert pinned not in nodeimage.published()  # source mode's version: kind published none for it
    with pytest.raises(nodeimage.UnpublishedVersion) as refused:
        nodeimage.registry_node_image(pinned)
    message = str(refused.value)
    assert f"kind {versions.pinned()['kind']} published node images for Kubernetes" in message
    assert all(version in message for version in nodeimage.published())
    assert f"not {pinned}" in message and "image mode source" in message and "builds any version" in message


def test_the_users_own_node_image_wins_whatever_the_version() -> None:
    assert nodeimage.registry_node_image("v1.99.0", "example.org/node:mine") == "example.org/node:mine"


def test_the_spec_may_name_a_node_image_and_says_whether_it_named_a_version(tmp_path: Path) -> None:
    default = load_spec(CLUSTERS / "default.yaml")
    assert default.node_image is None and default.kubernetes_pinned
    spec_file = tmp_path / "spec.yaml"
    text = (CLUSTERS / "default.yaml").read_text()
    spec_file.write_text(text + "kubernetes: v1.36.4\nnodeImage: example.org/node:mine\n")
    spec = load_spec(spec_file)
    assert spec.node_image == "example.org/node:mine" and not spec.kubernetes_pinned
