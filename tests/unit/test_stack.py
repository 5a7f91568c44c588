"""Stack logic that needs no cluster: image pins in kustomizations, Kueue's configuration, install
order, identities, and the wrapper's pinned replaces (KEDA's go.mod)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness import versions
from harness.stack import components, kueue
from harness.stack.images import controllers, go_builds
from harness.stack.install import _ordered
from harness.stack.kueue import KueueOptions, configure
from harness.stack.render import identities, if_not_present, images_of, set_image, split_image
from harness.supply import gobuild

KEDA_LIKE_GOMOD = """\
module github.com/kedacore/keda/v2

go 1.26.0

replace (
\tk8s.io/api => k8s.io/api v0.35.5
\tgithub.com/x/y v1.0.0 => github.com/x/y v1.0.1
\tgithub.com/local/z => ../z
)

replace k8s.io/client-go => k8s.io/client-go v0.35.5
"""


def test_pinned_replaces_are_carried_and_relative_ones_are_not() -> None:
    found = sorted(m.group(1) + m.group(2) for m in gobuild.PINNED_REPLACE.finditer(KEDA_LIKE_GOMOD))
    assert found == [
        "github.com/x/y v1.0.0 => github.com/x/y v1.0.1",
        "k8s.io/api => k8s.io/api v0.35.5",
        "k8s.io/client-go => k8s.io/client-go v0.35.5",
    ]


def test_set_image_replaces_the_matching_entry_like_kustomize_edit(tmp_path: Path) -> None:
    k = tmp_path / "kustomization.yaml"
    k.write_text("resources: [manager.yaml]\nimages:\n- name: controller\n  newName: staging/lws\n  newTag: main\n")
    set_image(k, "controller", "registry.k8s.io/lws/lws:v0.9.0")
    set_image(k, "other", "example.com/o:1")
    images = yaml.safe_load(k.read_text())["images"]
    assert images == [
        {"name": "controller", "newName": "registry.k8s.io/lws/lws", "newTag": "v0.9.0"},
        {"name": "other", "newName": "example.com/o", "newTag": "1"},
    ]


def test_split_image_needs_a_tag() -> None:
    assert split_image("localhost:5000/a/b:v1") == ("localhost:5000/a/b", "v1")
    with pytest.raises(ValueError, match="no tag"):
        split_image("localhost:5000/a/b")


def _kueue_objects() -> list[dict]:
    config = {"integrations": {"frameworks": ["batch/job"]}, "webhook": {"port": 9443}}
    return [
        {
            "kind": "ConfigMap",
            "metadata": {"name": kueue.CONFIG_MAP},
            "data": {kueue.CONFIG_KEY: yaml.safe_dump(config)},
        },
        {
            "kind": "Deployment",
            "metadata": {"name": "kueue-controller-manager"},
            "spec": {"template": {"metadata": {}, "spec": {"containers": [{"name": "manager", "args": ["--x"]}]}}},
        },
    ]


def test_kueue_configuration_turns_on_lws_and_the_chosen_settings() -> None:
    objs = configure(_kueue_objects(), KueueOptions(wait_for_pods_ready="90s", topology_aware_scheduling=False))
    config = yaml.safe_load(objs[0]["data"][kueue.CONFIG_KEY])
    assert config["integrations"]["frameworks"] == ["batch/job", kueue.LWS_FRAMEWORK]
    assert config["waitForPodsReady"] == {"timeout": "90s", "blockAdmission": True}
    assert objs[1]["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "--x",
        "--feature-gates=TopologyAwareScheduling=false",
    ]


def test_a_changed_kueue_setting_changes_the_pod_template() -> None:
    def annotation(options: KueueOptions) -> str:
        deployment = configure(_kueue_objects(), options)[1]
        return str(deployment["spec"]["template"]["metadata"]["annotations"][kueue.CONFIG_ANNOTATION])

    assert annotation(KueueOptions()) == annotation(KueueOptions())
    assert annotation(KueueOptions()) != annotation(KueueOptions(wait_for_pods_ready="5m"))


def test_bad_kueue_duration_names_the_field() -> None:
    with pytest.raises(ValueError, match=r"kueue\.waitForPodsReady: .5 minutes."):
        KueueOptions(wait_for_pods_ready="5 minutes")


def test_dependencies_install_first() -> None:
    order = [c.name for c in _ordered(list(reversed(components())))]
    assert order.index("lws") < order.index("kueue")


def test_identities_and_images_are_read_off_the_objects() -> None:
    objs = [
        {"kind": "Namespace", "metadata": {"name": "lws-system"}},
        {
            "kind": "Deployment",
            "metadata": {"name": "m", "namespace": "lws-system"},
            "spec": {"template": {"spec": {"containers": [{"image": "a:1"}]}}},
        },
    ]
    assert identities(objs) == ["Deployment lws-system/m", "Namespace lws-system"]
    assert images_of(objs) == ["a:1"]


def test_registry_mode_runs_the_images_it_loaded_without_pulling_them_again() -> None:
    pod = {"containers": [{"image": "a:1", "imagePullPolicy": "Always"}], "initContainers": [{"image": "b:1"}]}
    objs = [{"kind": "Deployment", "metadata": {"name": "m"}, "spec": {"template": {"spec": pod}}}]
    if_not_present(objs)
    assert [c["imagePullPolicy"] for c in pod["containers"] + pod["initContainers"]] == ["IfNotPresent"] * 2


def test_every_controller_image_is_pinned_and_built() -> None:
    pinned = versions.pinned()
    images = {c.image for c in controllers()}
    assert images == {pinned["lws"]["image"], pinned["kueue"]["image"], *pinned["keda"]["images"].values()}
    assert {c.build for c in controllers()} == set(go_builds())
    for name, recipe in go_builds().items():
        assert recipe.version == pinned[name]["version"]
