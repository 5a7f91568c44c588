"""Derive the kind cluster config from a testbed spec, deterministically."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.spec.model import Testbed

CERTS_D = "/etc/containerd/certs.d"

# In kind's v2-format containerd config:
# - config_path: per-registry hosts.toml files (the image mirrors);
# - enable_cdi: the fake GPU driver's devices are injected through CDI;
# - restrict_oom_score_adj: without CAP_SYS_RESOURCE in the Docker host's bounding set (as on these
#   VMs) runc cannot lower a container's oom_score_adj below its own and every pod sandbox fails
#   ("failed to update /proc/self/oom_score_adj: Permission denied"). Clamping is harmless elsewhere.
CONTAINERD_PATCH = f"""\
[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "{CERTS_D}"
[plugins."io.containerd.grpc.v1.cri"]
  enable_cdi = true
  restrict_oom_score_adj = true
"""

# kubeadm gives the API server one minute (timeouts.kubernetesAPICall) to answer after the kubelet
# starts; on a busy 2-core machine it can need more, and kubeadm init then fails the whole create.
KUBEADM_TIMEOUTS_PATCH = """\
kind: InitConfiguration
apiVersion: kubeadm.k8s.io/v1beta4
timeouts:
  kubernetesAPICall: 5m0s
  controlPlaneComponentHealthCheck: 8m0s
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
    config["kubeadmConfigPatches"] = [KUBEADM_TIMEOUTS_PATCH]
    if runtime.cgroup_v1:
        config["kubeadmConfigPatches"].append(CGROUP_V1_PATCH)
    return config
