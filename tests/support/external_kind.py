"""A kind cluster made the way a user makes one — plain `kind create cluster` with a small config —
to stand in for "a cluster the harness did not create" in tests/cluster/test_existing_cluster.py.

No registry can be reached here, so the nodes pull through a local registry mirror (as a company's
cluster pulls through its own registry): the image supply's registry container serves the cluster
images, and containerd's certs.d points at it. Beyond that the config carries only what this host
needs to run kind at all (the same containerd and kubelet patches the harness's kind config uses).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import yaml

from harness import versions
from harness.cluster.kind import Kind, resolve_kind
from harness.cluster.testbed import cgroup_v1, delete_testbed, docker_client, network_name
from harness.spec.kindconfig import CERTS_D, CONTAINERD_PATCH, KUBEADM_TIMEOUTS_PATCH, kubelet
from harness.supply import ImageSupply, Mode

NODE_IMAGE = "kindest/node:" + versions.pinned()["kubernetes"]
NODE_PORT = 30080


@dataclass
class External:
    name: str
    kubeconfig: Path
    context: str  # kind names it kind-<name>
    host_port: int  # 127.0.0.1:host_port reaches NodePort NODE_PORT
    supply: ImageSupply


def kind_config(name: str, mirrors: str, host_port: int, v1: bool) -> dict[str, object]:
    mount = [{"hostPath": mirrors, "containerPath": CERTS_D, "readOnly": True}]
    ports = [{"containerPort": NODE_PORT, "hostPort": host_port, "listenAddress": "127.0.0.1", "protocol": "TCP"}]
    return {
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "name": name,
        "nodes": [
            {"role": "control-plane", "extraMounts": mount, "extraPortMappings": ports},
            # Two workers: LWS's controller alone asks for 2 x 1 CPU, which one 2-core node cannot give.
            {"role": "worker", "extraMounts": mount, "labels": {"topology.kubernetes.io/zone": "zone-x"}},
            {"role": "worker", "extraMounts": mount, "labels": {"topology.kubernetes.io/zone": "zone-x"}},
        ],
        "containerdConfigPatches": [CONTAINERD_PATCH],
        "kubeadmConfigPatches": [KUBEADM_TIMEOUTS_PATCH] + ([yaml.safe_dump(kubelet(None, True))] if v1 else []),
    }


def create(name: str, workdir: Path, host_port: int, timeout: float = 900) -> External:
    """Registry mirror up, then `kind create cluster`; on failure everything made is removed."""
    client = docker_client()
    network = network_name(name)
    supply = ImageSupply(Mode.SOURCE, name, network)
    try:
        try:
            client.networks.get(network)
        except docker.errors.NotFound:
            client.networks.create(network, driver="bridge", options={"com.docker.network.driver.mtu": "1500"})
        supplied = supply.prepare(versions.pinned()["kubernetes"])
        assert supplied.mirrors_dir
        config = workdir / "kind.yaml"
        config.write_text(yaml.safe_dump(kind_config(name, supplied.mirrors_dir, host_port, cgroup_v1(client))))
        kubeconfig = workdir / "kubeconfig"
        create = ["create", "cluster", "--name", name, "--image", NODE_IMAGE, "--config", str(config)]
        subprocess.run(
            [str(resolve_kind()), *create, "--kubeconfig", str(kubeconfig), "--wait", "5m"],
            env={**os.environ, "KIND_EXPERIMENTAL_DOCKER_NETWORK": network},
            check=True,
            timeout=timeout,
        )
    except BaseException:
        delete(name, supply)
        raise
    return External(name, kubeconfig, f"kind-{name}", host_port, supply)


def delete(name: str, supply: ImageSupply | None = None) -> None:
    delete_testbed(name, Kind(resolve_kind(), network=network_name(name)), supply)
