"""A cluster the harness did not create, reached through one kubeconfig context (DESIGN §10).

Safety by construction: the user's kubeconfig is reduced to the one named context (`kubectl config
view --minify --flatten`) in a private file, and every client, `kubectl apply` and helper the suites
call reads that file; no other context is ever visible to the run, and the user's current context
is never changed. What the run creates lives in namespaces labelled with its run id and is removed
at the end (a safety net behind each check's own clean-up).

Images: a cluster the harness did not create pulls its images from its own registries. The harness's
own images (mock vLLM, fake GPU driver, and in source mode the stack's controllers) can only be
loaded when the nodes are kind containers on this Docker engine (`kind load docker-image`); on any
other cluster an image no node has is refused with its name: push it where the cluster pulls from.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
from kubernetes.client.exceptions import ApiException

from harness.cluster.discover import Discovery, analyse, plain_items, snapshot
from harness.cluster.kind import Kind, resolve_kind
from harness.kube.client import Clients
from harness.kube.namespaces import OWNER_LABEL, RUN_ID, RUN_LABEL
from harness.kube.waits import wait_until
from harness.spec.model import PortMapping
from harness.supply import ImageSupply, Mode, detect_mode
from harness.supply.kubectl import kubectl

log = logging.getLogger("llmc.cluster")

KIND_PROVIDER = "kind://docker/"


class ContextError(ValueError):
    """The kubeconfig or context named cannot be used."""


@dataclass(frozen=True)
class ClusterRef:
    """The cluster the user named: a kubeconfig (None: kubectl's default) and one of its contexts."""

    kubeconfig: str | None
    context: str

    @property
    def source(self) -> str:
        return f"context {self.context} of {self.kubeconfig or os.environ.get('KUBECONFIG', '~/.kube/config')}"


def _kubectl_config(kubeconfig: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [kubectl(), "config", *args] + ([f"--kubeconfig={kubeconfig}"] if kubeconfig else [])
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


def resolve(kubeconfig: str | None, context: str | None) -> ClusterRef:
    """The context to use, pinned by name: the one given, else the kubeconfig's current one."""
    if kubeconfig and not Path(kubeconfig).is_file():
        raise ContextError(f"kubeconfig {kubeconfig}: no such file")
    listed = _kubectl_config(kubeconfig, "get-contexts", "-o", "name")
    if listed.returncode != 0:
        raise ContextError(f"cannot read kubeconfig {kubeconfig or '(default)'}: {listed.stderr.strip()}")
    names = listed.stdout.split()
    if context is None:
        current = _kubectl_config(kubeconfig, "current-context")
        context = current.stdout.strip()
        if current.returncode != 0 or not context:
            raise ContextError(f"kubeconfig {kubeconfig or '(default)'} has no current context: name one")
    if context not in names:
        raise ContextError(f"context {context!r} is not in kubeconfig {kubeconfig or '(default)'} (it has {names})")
    return ClusterRef(kubeconfig, context)


def disruption_refusal(ref: ClusterRef, allowed: str | None) -> str | None:
    """Why disruptive checks may not run on this context, or None when the user handed it over."""
    if allowed == ref.context:
        return None
    if allowed:
        return (
            f"disruptive: --llmc-allow-disruption={allowed} does not name this run's context {ref.context!r}; "
            f"pass --llmc-allow-disruption={ref.context} to run it"
        )
    return f"disruptive: refused on context {ref.context!r}; pass --llmc-allow-disruption={ref.context} to run it"


class ExistingCluster:
    """What suites use of a TestbedCluster (spec, kubeconfig, clients, load_images, supply), for a
    cluster reached through one context. Call close() at the end."""

    __test__ = False  # not a pytest test class

    def __init__(self, ref: ClusterRef, mode: Mode | None = None, ports: tuple[PortMapping, ...] = ()) -> None:
        self.ref = ref
        self.context = ref.context
        self._dir = Path(tempfile.mkdtemp(prefix="llmc-existing-"))  # mode 0700: it holds credentials
        self.kubeconfig = self._dir / "kubeconfig"
        view = _kubectl_config(ref.kubeconfig, "view", "--minify", "--flatten", f"--context={ref.context}")
        if view.returncode != 0:
            shutil.rmtree(self._dir)
            raise ContextError(f"cannot extract {ref.source}: {view.stderr.strip()}")
        self.kubeconfig.touch(mode=0o600)
        self.kubeconfig.write_text(view.stdout)
        self.ports = ports
        try:
            snap = snapshot(self.clients())
        except BaseException:
            shutil.rmtree(self._dir)
            raise
        self.kind_cluster = _kind_cluster(snap.nodes)
        self.name = self.kind_cluster or ref.context
        self.supply = ImageSupply(mode or detect_mode(), self.name, network="")
        self.discovery: Discovery = analyse(snap, self.name, ref.source, ports)
        self.spec = self.discovery.spec

    def endpoint(self) -> PortMapping:
        """The NodePort mapped to 127.0.0.1 (spec.endpoint()): where suites expose a service to load."""
        return self.spec.endpoint()

    def clients(self) -> Clients:
        return Clients.from_kubeconfig(self.kubeconfig, self.context)

    def rediscover(self) -> Discovery:
        self.discovery = analyse(snapshot(self.clients()), self.name, self.ref.source, self.ports)
        self.spec = self.discovery.spec
        return self.discovery

    @property
    def docker(self) -> docker.DockerClient:
        """The Docker engine running the nodes: only for kind clusters on this machine."""
        if self.kind_cluster is None:
            raise RuntimeError(f"{self.ref.source}: its nodes are not kind containers on this Docker engine")
        return docker.from_env()

    def load_images(self, images: list[str]) -> None:
        """Images every node already has are left alone; the others are loaded into a kind cluster's
        nodes, and refused, by name, on any other cluster."""
        kube = self.clients()
        have: dict[str, set[str]] = {}
        for node in plain_items(kube, kube.core.list_node()):
            present = node.get("status", {}).get("images") or []
            have[node["metadata"]["name"]] = {n for i in present for n in i.get("names") or []}
        lacking = {
            image: sorted(n for n, names in have.items() if not any(_same_image(image, x) for x in names))
            for image in images
        }
        missing = [image for image, nodes in lacking.items() if nodes]
        if not missing:
            return
        if self.kind_cluster is not None:
            log.info("loading %d images into kind cluster %s: %s", len(missing), self.kind_cluster, missing)
            Kind(resolve_kind()).load_images(self.kind_cluster, missing)
            return
        image = missing[0]
        raise RuntimeError(
            f"image {image} is not on nodes {lacking[image]} of {self.ref.source}, and the harness loads images "
            "only into kind clusters on this Docker engine: push it to a registry the cluster pulls from"
        )

    def close(self, timeout: float = 180) -> list[str]:
        """Remove namespaces this run created that are still there; returns their names."""
        kube = self.clients()
        core = kube.core
        selector = f"{OWNER_LABEL}=true,{RUN_LABEL}={RUN_ID}"

        def listed() -> list[str]:
            return [
                str(ns["metadata"]["name"]) for ns in plain_items(kube, core.list_namespace(label_selector=selector))
            ]

        left = listed()
        for name in left:
            log.info("removing namespace %s this run left on %s", name, self.ref.source)
            try:
                core.delete_namespace(name)
            except ApiException as e:
                if e.status != 404:
                    raise
        if left:

            def gone() -> tuple[bool, str]:
                still = listed()
                return not still, f"still there: {still}"

            wait_until(gone, timeout, f"this run's namespaces removed from {self.ref.source}", interval=2)
        shutil.rmtree(self._dir, ignore_errors=True)
        return left


def _kind_cluster(nodes: list[dict[str, Any]]) -> str | None:
    """The kind cluster's name when every node is a kind container running on this Docker engine."""
    names = set()
    for n in nodes:
        provider = str((n.get("spec") or {}).get("providerID", ""))
        if not provider.startswith(KIND_PROVIDER):
            return None
        names.add(provider.removeprefix(KIND_PROVIDER).split("/", 1)[0])
    if len(names) != 1:
        return None
    (name,) = names
    try:
        local = docker.from_env().containers.list(filters={"label": f"io.x-k8s.kind.cluster={name}"})
    except docker.errors.DockerException:
        return None
    node_names = {str(n["metadata"]["name"]) for n in nodes}
    return name if node_names <= {str(c.name) for c in local} else None


def _same_image(wanted: str, have: str) -> bool:
    """docker.io/library/busybox:1 and busybox:1 are the same image name."""

    def canonical(name: str) -> str:
        first = name.split("/", 1)[0]
        if "/" not in name:
            return f"docker.io/library/{name}"
        if "." in first or ":" in first or first == "localhost":
            return name
        return f"docker.io/{name}"

    return canonical(wanted) == canonical(have)
