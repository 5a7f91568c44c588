"""The kind config derived from a spec: deterministic, and only what the host and supply ask for."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from harness.spec import RACK_LABEL, Timing, load_spec
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


def _patch(config: dict[str, Any], kind: str) -> dict[str, Any]:
    (patch,) = [yaml.safe_load(p) for p in config["kubeadmConfigPatches"] if yaml.safe_load(p)["kind"] == kind]
    return patch


def test_cgroup_v1_setting_only_on_cgroup_v1_hosts() -> None:
    v2 = _patch(kind_config(SPEC, NodeRuntime(image="img", cgroup_v1=False)), "KubeletConfiguration")
    v1 = _patch(kind_config(SPEC, NodeRuntime(image="img", cgroup_v1=True)), "KubeletConfiguration")
    assert "failCgroupV1" not in v2
    assert v1["failCgroupV1"] is False


def test_kubeadm_waits_longer_for_a_slow_api_server() -> None:
    config = kind_config(SPEC, NodeRuntime(image="img", cgroup_v1=False))
    assert _patch(config, "InitConfiguration")["timeouts"]["kubernetesAPICall"] == "5m0s"


def test_the_testbed_timing_reaches_the_controller_manager_and_every_kubelet() -> None:
    spec = replace(SPEC, timing=Timing(node_monitor_grace_period=24, node_lease_duration=12, hpa_sync_period=3))
    config = kind_config(spec, NodeRuntime(image="img", cgroup_v1=False))
    args = _patch(config, "ClusterConfiguration")["controllerManager"]["extraArgs"]
    assert {"name": "node-monitor-grace-period", "value": "24s"} in args
    assert {"name": "horizontal-pod-autoscaler-sync-period", "value": "3s"} in args
    assert _patch(config, "KubeletConfiguration")["nodeLeaseDurationSeconds"] == 12


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
