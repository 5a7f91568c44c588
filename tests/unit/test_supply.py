"""Image supply logic that needs no Docker: wrapper modules, input keys, image names, mode detection."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import versions
from harness.supply import Mode, detect_mode, gobuild, source
from harness.supply.cache import Step
from harness.supply.images import DockerImage
from harness.supply.registry import qualified

GOMOD = """\
module go.etcd.io/etcd/server/v3

go 1.25

require (
\tgo.etcd.io/etcd/api/v3 v3.7.0
\tgithub.com/x/y v1.0.0
)

replace (
\tgo.etcd.io/etcd/api/v3 => ../api
\tgo.etcd.io/etcd/client/v3 v3.7.0 => ../client/v3
\tgithub.com/x/y => github.com/x/y v1.0.1
)

replace go.etcd.io/etcd/pkg/v3 => ./pkg
"""


def test_relative_replaces_are_found_in_blocks_and_lines() -> None:
    found = sorted(m.group(1) for m in gobuild.RELATIVE_REPLACE.finditer(GOMOD))
    assert found == ["go.etcd.io/etcd/api/v3", "go.etcd.io/etcd/client/v3", "go.etcd.io/etcd/pkg/v3"]


def test_kubernetes_build_replaces_staging_with_v0_versions_and_sets_version_ldflags() -> None:
    recipe = source.kubernetes_build("v1.37.2")
    assert recipe.sibling_version == "v0.37.2"
    assert "-X k8s.io/component-base/version.gitVersion=v1.37.2" in recipe.ldflags
    assert "-X k8s.io/client-go/pkg/version.gitMinor=37" in recipe.ldflags
    assert {p.rsplit("/", 1)[-1] for p in recipe.packages} == {
        "kubelet",
        "kubeadm",
        "kubectl",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kube-proxy",
    }


def test_every_component_is_pinned_in_the_versions_file() -> None:
    pinned = versions.pinned()
    for name, recipe in source.component_builds().items():
        assert recipe.version == pinned[name]["version"], name


def test_image_key_follows_recipe_files_and_args(tmp_path: Path) -> None:
    recipe = tmp_path / "recipe"
    recipe.mkdir()
    (recipe / "Dockerfile").write_text("FROM scratch\n")
    binary = tmp_path / "bin"
    binary.write_text("v1")
    image = DockerImage(names=("x:1",), recipe=recipe, files={"bin": binary}, build_args={"A": "1"})
    key = image.key()
    assert image.key() == key, "same inputs, same key"
    binary.write_text("v2")
    assert image.key() != key, "a changed file changes the key"
    binary.write_text("v1")
    assert DockerImage(names=("x:1",), recipe=recipe, files={"bin": binary}, build_args={"A": "2"}).key() != key
    (recipe / "Dockerfile").write_text("FROM scratch\nLABEL a=b\n")
    assert image.key() != key, "a changed recipe changes the key"


def test_steps_are_cached_by_inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMC_CACHE_DIR", str(tmp_path))
    step = Step("thing", {"version": "1"})
    assert not step.done()
    step.output.mkdir(parents=True)
    step.finish(seconds=1.0)
    assert Step("thing", {"version": "1"}).done()
    assert not Step("thing", {"version": "2"}).done()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"),
        ("kindest/node:v1.37.2", "docker.io/kindest/node:v1.37.2"),
        ("busybox:1.37.0", "docker.io/library/busybox:1.37.0"),
        ("llm-conformance.local/pod-routes:v1", "llm-conformance.local/pod-routes:v1"),
        ("localhost/x:1", "localhost/x:1"),
    ],
)
def test_image_names_are_qualified_like_docker_does(name: str, expected: str) -> None:
    assert qualified(name) == expected


def test_mode_detection_falls_back_to_source_when_registries_do_not_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("unreachable")

    monkeypatch.setattr("socket.create_connection", refuse)
    assert detect_mode(timeout=0.1) is Mode.SOURCE


def test_planned_images_cover_what_kubeadm_and_kind_pull() -> None:
    names = [name for name, _ in source.planned_images("v1.37.2")]
    for expected in (
        "docker.io/kindest/node:v1.37.2",
        "registry.k8s.io/kube-apiserver:v1.37.2",
        "registry.k8s.io/etcd:3.7.0-0",
        "registry.k8s.io/pause:3.10.2",
        "registry.k8s.io/pause:3.10",
    ):
        assert expected in names
