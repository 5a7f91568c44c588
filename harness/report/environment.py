"""What a run ran on: the harness, Python, the cluster's server version and node image, the testbed."""

from __future__ import annotations

import platform
import sys
from dataclasses import asdict, dataclass
from importlib import metadata
from typing import Any

from harness.spec import Testbed


@dataclass
class Environment:
    harness_version: str
    python: str
    platform: str
    kubernetes_server: str | None = None  # what the API server says, not what the spec asked for
    node_image: str | None = None
    image_mode: str | None = None
    cluster: str | None = None
    bring_up: str | None = None  # the testbed's bring-up figures (images, kind create, ready)
    stack: str | None = None  # the stack install figures
    # The intervals the cluster runs with, as it says itself (cluster_timing): what a figure such as
    # "NotReady after N s" is read against.
    timing: dict[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def local_environment() -> Environment:
    try:
        version = metadata.version("llm-inference-conformance")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return Environment(version, sys.version.split()[0], platform.platform())


def add_cluster(env: Environment, testbed: Any) -> None:
    """Fill in what the running testbed says about itself; best effort (the report must not fail a run).

    `testbed` is a harness.cluster.testbed.TestbedCluster, or anything with `clients()` (an existing
    cluster): the node image is asked of Docker only where there is a kind node container."""
    try:
        from kubernetes import client

        info = client.VersionApi(testbed.clients().api).get_code()
        env.kubernetes_server = str(info.git_version)
    except Exception as e:  # a broken cluster is itself reported through the checks
        env.kubernetes_server = f"unknown ({type(e).__name__})"
    spec = getattr(testbed, "spec", None)
    env.cluster = getattr(spec, "name", None)
    figures = getattr(testbed, "figures", None)
    env.image_mode = getattr(figures, "mode", None) or None
    try:
        env.timing = {**cluster_timing(testbed.clients().api), **(env.timing or {})}
    except Exception as e:
        env.timing = {"unknown": type(e).__name__, **(env.timing or {})}
    docker = getattr(testbed, "docker", None)
    if docker is not None and spec is not None:
        try:
            node = docker.containers.get(f"{spec.name}-control-plane")
            env.node_image = str(node.attrs["Config"]["Image"])
        except Exception as e:
            env.node_image = f"unknown ({type(e).__name__})"


# kube-controller-manager flags that time the checks' waits, with their upstream defaults.
CONTROLLER_MANAGER_FLAGS = {"node-monitor-grace-period": "50s", "horizontal-pod-autoscaler-sync-period": "15s"}


def cluster_timing(api: Any) -> dict[str, str]:
    """The controller manager's timing flags (where it runs as a pod, as on kind and kubeadm; "50s
    (default)" when a flag is not set) and a node's heartbeat lease. (The plugin adds the KEDA timing
    of the harness's ScaledObjects; Kueue's waitForPodsReady is named where a check sets it.)"""
    from kubernetes import client

    timing: dict[str, str] = {}
    selector = "component=kube-controller-manager"
    for pod in client.CoreV1Api(api).list_namespaced_pod("kube-system", label_selector=selector).items[:1]:
        container = pod.spec.containers[0] if pod.spec else None
        if container is not None:
            timing.update(controller_manager_timing([*(container.command or []), *(container.args or [])]))
    for lease in client.CoordinationV1Api(api).list_namespaced_lease("kube-node-lease", limit=1).items:
        if lease.spec and lease.spec.lease_duration_seconds:
            timing["node-lease-duration"] = f"{lease.spec.lease_duration_seconds}s"
    return timing


def controller_manager_timing(command: list[str]) -> dict[str, str]:
    """CONTROLLER_MANAGER_FLAGS as the controller manager's command line sets them, else their defaults."""
    flags = dict(arg.removeprefix("--").split("=", 1) for arg in command if arg.startswith("--") and "=" in arg)
    return {flag: flags.get(flag, f"{default} (default)") for flag, default in CONTROLLER_MANAGER_FLAGS.items()}


def topology(spec: Testbed | None) -> dict[str, Any] | None:
    """The testbed as the spec describes it: nodes with racks, zones and hardware profiles."""
    if spec is None:
        return None
    return {
        "name": spec.name,
        "source": spec.source,
        "kubernetes": spec.kubernetes,
        "feature_gates": dict(spec.feature_gates),
        "nodes": [
            {
                "name": n.name,
                "role": n.role,
                "rack": n.rack,
                "zone": n.zone,
                "profile": n.hardware.name if n.hardware else None,
            }
            for n in spec.nodes
        ],
        "profiles": {
            name: {
                "numa_nodes": [[{"gpus": sw.gpus, "nics": sw.nics} for sw in numa] for numa in p.numa_nodes],
                "gpu_model": p.gpu_model,
                "gpu_memory": p.gpu_memory,
                "nic_model": p.nic_model,
                "nic_rdma": p.nic_rdma,
                "nvlink_cliques": [list(c) for c in p.nvlink_cliques],
                "gpus": p.gpu_count,
                "nics": p.nic_count,
            }
            for name, p in spec.profiles.items()
        },
    }
