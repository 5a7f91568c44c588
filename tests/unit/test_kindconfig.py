"""The kind config derived from a spec: deterministic, and only what the host and supply ask for."""

from __future__ import annotations

from pathlib import Path

import yaml

from harness.spec import RACK_LABEL, load_spec
from harness.spec.kindconfig import CERTS_D, NodeRuntime, kind_config
from harness.supply.registry import MIRRORED, hosts_toml, write_mirrors

ROOT = Path(__file__).resolve().parents[2]
SPEC = load_spec(ROOT / "clusters" / "default.yaml")


def test_nodes_in_spec_order_with_labels_and_image() -> None:
    config = kind_config(SPEC, NodeRuntime(image="img:1", cgroup_v1=False))
    assert config["name"] == "llmc"
    assert [n["role"] for n in config["nodes"]] == ["control-plane"] + ["worker"] * 4
    assert all(n["image"] == "img:1" for n in config["nodes"])
    assert [n["labels"][RACK_LABEL] for n in config["nodes"][1:]] == ["rack-1", "rack-1", "rack-2", "rack-2"]


def test_node_ports_listen_on_loopback_only_on_the_control_plane() -> None:
    config = kind_config(SPEC, NodeRuntime(image="img", cgroup_v1=False))
    cp, *workers = config["nodes"]
    assert cp["extraPortMappings"] == [
        {"containerPort": 30080, "hostPort": 30080, "listenAddress": "127.0.0.1", "protocol": "TCP"}
    ]
    assert not any("extraPortMappings" in w for w in workers)


def test_cgroup_v1_patch_only_on_cgroup_v1_hosts() -> None:
    v2 = kind_config(SPEC, NodeRuntime(image="img", cgroup_v1=False))
    v1 = kind_config(SPEC, NodeRuntime(image="img", cgroup_v1=True))
    kubelet_patches = [p for c in (v1, v2) for p in c["kubeadmConfigPatches"] if "KubeletConfiguration" in p]
    assert len(kubelet_patches) == 1, "only the cgroup v1 config patches the kubelet"
    assert yaml.safe_load(kubelet_patches[0])["failCgroupV1"] is False
    assert kubelet_patches[0] in v1["kubeadmConfigPatches"]


def test_kubeadm_waits_longer_for_a_slow_api_server() -> None:
    config = kind_config(SPEC, NodeRuntime(image="img", cgroup_v1=False))
    (patch,) = config["kubeadmConfigPatches"]
    assert yaml.safe_load(patch)["timeouts"]["kubernetesAPICall"] == "5m0s"


def test_mirrors_are_mounted_into_every_node_and_cdi_is_on() -> None:
    config = kind_config(SPEC, NodeRuntime(image="img", cgroup_v1=False, mirrors_dir="/m"))
    for node in config["nodes"]:
        assert {"hostPath": "/m", "containerPath": CERTS_D, "readOnly": True} in node["extraMounts"]
    (patch,) = config["containerdConfigPatches"]
    assert f'config_path = "{CERTS_D}"' in patch and "enable_cdi = true" in patch


def test_same_spec_same_config() -> None:
    runtime = NodeRuntime(image="img", cgroup_v1=True, mirrors_dir="/m")
    assert yaml.safe_dump(kind_config(SPEC, runtime)) == yaml.safe_dump(kind_config(SPEC, runtime))


def test_hosts_toml_points_upstream_names_at_the_local_registry(tmp_path: Path) -> None:
    text = hosts_toml("registry.k8s.io", "http://llmc-registry:5000")
    assert 'server = "https://registry.k8s.io"' in text
    assert '[host."http://llmc-registry:5000/v2/registry.k8s.io"]' in text
    assert "override_path = true" in text
    write_mirrors(tmp_path, "http://r:5000")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(MIRRORED)
