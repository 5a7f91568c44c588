"""Derive the kind cluster config from a testbed spec, deterministically."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.spec.model import Testbed

CERTS_D = "/etc/containerd/certs.d"

# containerd reads per-registry hosts.toml files (mirrors) from config_path; CDI lets the fake GPU
# driver inject devices. Both are containerd 2.x settings in kind's v2-format config.
CONTAINERD_PATCH = f"""\
[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "{CERTS_D}"
[plugins."io.containerd.grpc.v1.cri"]
  enable_cdi = true
"""

# Kubernetes >= 1.35 kubelets refuse cgroup v1 unless told otherwise; kind skips kubeadm preflight,
# so this one setting is enough. Only set when the host is on cgroup v1.
CGROUP_V1_PATCH = """\
kind: KubeletConfiguration
apiVersion: kubelet.config.k8s.io/v1beta1
failCgroupV1: false
"""


@dataclass(frozen=True)
class NodeRuntime:
    """What the image supply and the host add to every node."""

    image: str
    cgroup_v1: bool
    mirrors_dir: str | None = None  # host folder with <registry>/hosts.toml, mounted at CERTS_D
    extra_mounts: tuple[dict[str, Any], ...] = field(default_factory=tuple)


def kind_config(testbed: Testbed, runtime: NodeRuntime) -> dict[str, Any]:
    nodes = []
    for node in testbed.nodes:
        entry: dict[str, Any] = {"role": node.role, "image": runtime.image}
        labels = node.all_labels()
        if labels:
            entry["labels"] = labels
        mounts = list(runtime.extra_mounts)
        if runtime.mirrors_dir:
            mounts.append({"hostPath": runtime.mirrors_dir, "containerPath": CERTS_D, "readOnly": True})
        if mounts:
            entry["extraMounts"] = mounts
        if node.role == "control-plane" and testbed.ports:
            entry["extraPortMappings"] = [
                {"containerPort": p.node_port, "hostPort": p.host_port, "listenAddress": "127.0.0.1", "protocol": "TCP"}
                for p in testbed.ports
            ]
        nodes.append(entry)

    config: dict[str, Any] = {
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "name": testbed.name,
        "nodes": nodes,
        "containerdConfigPatches": [CONTAINERD_PATCH],
    }
    if testbed.feature_gates:
        config["featureGates"] = dict(sorted(testbed.feature_gates.items()))
    if testbed.runtime_config:
        config["runtimeConfig"] = dict(sorted(testbed.runtime_config.items()))
    if runtime.cgroup_v1:
        config["kubeadmConfigPatches"] = [CGROUP_V1_PATCH]
    return config
