"""Derive the kind cluster config from a testbed spec, deterministically."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from harness.spec.model import Testbed, Timing

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
    config["kubeadmConfigPatches"] = [
        KUBEADM_TIMEOUTS_PATCH,
        yaml.safe_dump(controller_manager(testbed.timing), sort_keys=False),
        yaml.safe_dump(kubelet(testbed.timing, runtime.cgroup_v1), sort_keys=False),
    ]
    return config


def controller_manager(timing: Timing) -> dict[str, Any]:
    """The testbed's node-monitor grace period and HPA sync period (kubeadm ClusterConfiguration)."""
    args = {
        "node-monitor-grace-period": f"{timing.node_monitor_grace_period}s",
        "horizontal-pod-autoscaler-sync-period": f"{timing.hpa_sync_period}s",
    }
    return {
        "kind": "ClusterConfiguration",
        "apiVersion": "kubeadm.k8s.io/v1beta4",
        "controllerManager": {"extraArgs": [{"name": k, "value": v} for k, v in args.items()]},
    }


def kubelet(timing: Timing | None, cgroup_v1: bool) -> dict[str, Any]:
    """Every kubelet's heartbeat lease (None: upstream's); and on a cgroup v1 host `failCgroupV1: false`
    (Kubernetes >= 1.35 kubelets refuse cgroup v1 unless told otherwise; kind skips kubeadm preflight,
    so this is enough)."""
    config: dict[str, Any] = {"kind": "KubeletConfiguration", "apiVersion": "kubelet.config.k8s.io/v1beta1"}
    if timing is not None:
        config["nodeLeaseDurationSeconds"] = timing.node_lease_duration
    if cgroup_v1:
        config["failCgroupV1"] = False
    return config
