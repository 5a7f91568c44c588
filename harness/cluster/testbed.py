"""A testbed's lifecycle: images, network, kind cluster, readiness; and a clean teardown."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import docker
import docker.errors
import yaml

from harness import doctor
from harness.cluster.interrupts import shielded
from harness.cluster.kind import Kind, resolve_kind
from harness.cluster.lock import TestbedLock
from harness.kube.client import Clients
from harness.kube.labels import NETWORK_LABEL
from harness.kube.waits import wait_until
from harness.spec import Testbed
from harness.spec.kindconfig import NodeRuntime, kind_config
from harness.spec.model import PortMapping
from harness.supply import ImageSupply, Mode, detect_mode
from harness.supply.cache import cache_dir

log = logging.getLogger("llmc.cluster")


@dataclass
class Options:
    mode: Mode | None = None  # None: detect
    mirror_url: str | None = None
    reuse: bool = False  # use an existing cluster of the same name
    keep: bool = False  # leave the cluster running at the end
    create_timeout: float = 900
    ready_timeout: float = 300


@dataclass
class Figures:
    """What bringing the testbed up cost, for the report."""

    images_seconds: float = 0.0
    create_seconds: float = 0.0
    ready_seconds: float = 0.0
    reused: bool = False
    mode: str = ""
    node_memory_peak_mib: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        parts = [f"image mode {self.mode}"]
        if self.reused:
            parts.append("reused an existing cluster")
        else:
            parts.append(f"images {self.images_seconds:.0f} s, kind create {self.create_seconds:.0f} s")
        parts.append(f"nodes and kube-system ready {self.ready_seconds:.0f} s later")
        if self.node_memory_peak_mib:
            total = sum(self.node_memory_peak_mib.values())
            parts.append(f"node containers' peak memory {total:.0f} MiB (sum of per-node peaks)")
        return "; ".join(parts)


def network_name(cluster: str) -> str:
    return f"llmc-{cluster}"


def docker_client() -> docker.DockerClient:
    try:
        client = docker.from_env()
        client.ping()
        return client
    except docker.errors.DockerException as e:
        raise RuntimeError(
            f"no Docker engine answers ({e}); start one (see .ci/install-docker) and try again"
        ) from None


def cgroup_v1(client: docker.DockerClient) -> bool:
    return str(client.info().get("CgroupVersion", "2")) == "1"


class TestbedCluster:
    """Brings a spec's kind cluster up and down. Use as a context manager."""

    __test__ = False  # not a pytest test class

    def __init__(self, spec: Testbed, options: Options | None = None) -> None:
        self.spec = spec
        self.options = options or Options()
        mode = self.options.mode or detect_mode()
        # Before anything is made: a missing prerequisite stops the run here, with its fix.
        doctor.require(mode, self.options.mirror_url, spec.kubernetes)
        self.workdir = cache_dir() / "clusters" / spec.name
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.kubeconfig = self.workdir / "kubeconfig"
        self.network = network_name(spec.name)
        self.lock = TestbedLock(spec.name, self.workdir)
        self.owner = False  # this run creates the cluster, so it alone may delete it
        self.figures = Figures()
        self.docker = docker_client()
        self.kind = Kind(resolve_kind(), network=self.network)
        self.figures.mode = str(mode)
        self.supply = ImageSupply(mode, spec.name, self.network, self.options.mirror_url)

    def endpoint(self) -> PortMapping:
        """The NodePort mapped to 127.0.0.1 (spec.endpoint()): where suites expose a service to load."""
        return self.spec.endpoint()

    def __enter__(self) -> TestbedCluster:
        self.start()
        return self

    def start(self) -> None:
        """up(), and on any failure or interruption remove whatever was made."""
        try:
            self.up()
        except BaseException:
            self.down(force=True)
            raise

    def __exit__(self, *exc: object) -> None:
        self.down()

    def up(self) -> None:
        name = self.spec.name
        if name in self.kind.clusters():
            if not self.options.reuse:
                owner = self.lock.held_elsewhere() or (
                    f"the run that made it has ended ({self.lock.last_owner()}): it was kept, or left behind"
                )
                raise RuntimeError(
                    f"a kind cluster named {name!r} already exists; {owner}. Delete it "
                    f"(`harness cluster delete {self.spec.source}`) or reuse it (pytest --llmc-reuse-cluster)"
                )
            log.info("reusing kind cluster %s", name)
            self.figures.reused = True
            self.kind.export_kubeconfig(name, self.kubeconfig)
            self.supply.attach()
        else:
            self.lock.acquire()  # before anything is made: a concurrent run of this name stops here
            if name in self.kind.clusters():  # made by the run that held the lock a moment ago
                self.lock.release()
                raise RuntimeError(f"a kind cluster named {name!r} appeared while this run started; try again")
            self.owner = True
            self._ensure_network()
            started = time.monotonic()
            log.info("testbed %s: images (mode %s), then kind create, then nodes Ready", name, self.supply.mode)
            supplied = self.supply.prepare(self.spec.kubernetes)
            self.figures.images_seconds = time.monotonic() - started
            runtime = NodeRuntime(
                image=supplied.node_image, cgroup_v1=cgroup_v1(self.docker), mirrors_dir=supplied.mirrors_dir
            )
            config_file = self.workdir / "kind-config.yaml"
            config_file.write_text(yaml.safe_dump(kind_config(self.spec, runtime), sort_keys=False))
            log.info("kind cluster %s: %d nodes, image %s", name, len(self.spec.nodes), supplied.node_image)
            self.figures.create_seconds = self.kind.create(
                name, config_file, self.kubeconfig, timeout=self.options.create_timeout
            )
        self.figures.ready_seconds = self.wait_ready(self.options.ready_timeout)
        log.info(
            "testbed %s ready: create %.0f s, nodes ready %.0f s later",
            name,
            self.figures.create_seconds,
            self.figures.ready_seconds,
        )

    def load_images(self, images: list[str]) -> None:
        """Make locally built images (our own: mock vLLM, fake GPU driver, ...) pullable by the nodes,
        under their own names: pushed to the local registry in source mode, `kind load`ed otherwise."""
        if self.supply.registry is not None:
            self.supply.push(images)
        else:
            self.kind.load_images(self.spec.name, images)

    def clients(self) -> Clients:
        return Clients.from_kubeconfig(self.kubeconfig)

    def wait_ready(self, timeout: float) -> float:
        """Every node of the spec registered and Ready, and the kube-system pods running."""
        core = self.clients().core
        expected = {n.name for n in self.spec.nodes}

        def nodes_ready() -> tuple[bool, str]:
            nodes = core.list_node().items
            state = {}
            for node in nodes:
                ready = next((c for c in node.status.conditions or [] if c.type == "Ready"), None)
                state[node.metadata.name] = f"{ready.status}({ready.reason})" if ready else "no condition"
            missing = expected - set(state)
            done = not missing and all(s.startswith("True") for s in state.values())
            return done, f"nodes {state}" + (f"; not registered: {sorted(missing)}" if missing else "")

        def system_pods_running() -> tuple[bool, str]:
            pods = core.list_namespaced_pod("kube-system").items
            bad = {p.metadata.name: p.status.phase for p in pods if p.status.phase != "Running"}
            return bool(pods) and not bad, f"kube-system pods not running: {bad}" if bad else "no pods yet"

        log.info("waiting until %s's %d nodes are Ready and kube-system pods Running", self.spec.name, len(expected))
        seconds = wait_until(nodes_ready, timeout, f"all {len(expected)} nodes of {self.spec.name} Ready", 2)
        seconds += wait_until(system_pods_running, timeout, "kube-system pods Running", 2)
        return seconds

    def down(self, force: bool = False) -> None:
        """Delete what this run created, unless asked to keep it (force: after a failed start). A
        cluster this run did not create (reused, or refused as already there) is never deleted."""
        self._record_memory_peaks()
        try:
            if not self.owner:
                return
            if self.options.keep and not force:
                log.info("keeping kind cluster %s (kubeconfig %s)", self.spec.name, self.kubeconfig)
                return
            left = (
                f"the kind cluster {self.spec.name}, its registry and network "
                f"(`harness cluster delete {self.spec.source}` removes them)"
            )
            with shielded(f"deleting testbed {self.spec.name}", left):
                delete_testbed(self.spec.name, self.kind, self.supply)
        finally:
            self.lock.release()

    def _record_memory_peaks(self) -> None:
        """Each node container's peak memory (cgroup v1 reports max_usage; v2 reports current usage)."""
        label = f"io.x-k8s.kind.cluster={self.spec.name}"
        for container in self.docker.containers.list(filters={"label": label}):
            memory = container.stats(stream=False).get("memory_stats", {})
            peak = memory.get("max_usage") or memory.get("usage")
            if peak:
                self.figures.node_memory_peak_mib[str(container.name)] = peak / 2**20

    def _ensure_network(self) -> None:
        try:
            self.docker.networks.get(self.network)
        except docker.errors.NotFound:
            # Like kind's own network: a bridge with masquerading; labelled so teardown finds it.
            self.docker.networks.create(
                self.network,
                driver="bridge",
                labels={NETWORK_LABEL: self.spec.name},
                options={
                    "com.docker.network.bridge.enable_ip_masquerade": "true",
                    "com.docker.network.driver.mtu": "1500",
                },
            )


def delete_testbed(name: str, kind: Kind, supply: ImageSupply | None = None) -> None:
    """Remove the cluster, its registry and its network; safe to call when some are already gone."""
    client = docker_client()
    if name in kind.clusters():
        kind.delete(name)
    if supply is not None:
        supply.close()
    for container in client.containers.list(
        all=True, filters={"label": f"llm-conformance.registry={network_name(name)}"}
    ):
        container.remove(force=True)
    for network in client.networks.list(names=[network_name(name)]):
        if network.name == network_name(name):  # the names filter also matches longer names
            network.remove()
