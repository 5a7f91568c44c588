"""The testbed spec as typed data: what a YAML spec file says once it has been validated."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.verdicts import NotApplicable

# Node labels the harness sets from the spec. The zone label is the well-known one; racks have no
# upstream label, so the harness owns one (suites and Kueue topologies refer to it by this name).
ZONE_LABEL = "topology.kubernetes.io/zone"
RACK_LABEL = "llm-conformance.io/rack"
PROFILE_LABEL = "llm-conformance.io/hardware-profile"


@dataclass(frozen=True)
class GPU:
    """One fake GPU as the node's device inventory lists it."""

    index: int
    numa: int
    pcie_switch: str  # unique within the node, e.g. "numa0-sw1"
    model: str
    memory: str  # a Kubernetes quantity, e.g. "80Gi"
    nvlink_clique: int | None


@dataclass(frozen=True)
class NIC:
    index: int
    numa: int
    pcie_switch: str
    model: str
    rdma: bool


@dataclass(frozen=True)
class PCIeSwitch:
    gpus: int
    nics: int


@dataclass(frozen=True)
class HardwareProfile:
    """A node's hardware: NUMA nodes, each with PCIe switches carrying GPUs and NICs."""

    name: str
    numa_nodes: tuple[tuple[PCIeSwitch, ...], ...]
    gpu_model: str
    gpu_memory: str
    nic_model: str
    nic_rdma: bool
    nvlink_cliques: tuple[tuple[int, ...], ...]

    def inventory(self) -> tuple[list[GPU], list[NIC]]:
        """The node's devices, numbered in NUMA then switch order (deterministic)."""
        clique_of = {gpu: i for i, clique in enumerate(self.nvlink_cliques) for gpu in clique}
        gpus: list[GPU] = []
        nics: list[NIC] = []
        for numa, switches in enumerate(self.numa_nodes):
            for s, switch in enumerate(switches):
                name = f"numa{numa}-sw{s}"
                for _ in range(switch.gpus):
                    i = len(gpus)
                    gpus.append(GPU(i, numa, name, self.gpu_model, self.gpu_memory, clique_of.get(i)))
                for _ in range(switch.nics):
                    nics.append(NIC(len(nics), numa, name, self.nic_model, self.nic_rdma))
        return gpus, nics

    @property
    def gpu_count(self) -> int:
        return sum(sw.gpus for numa in self.numa_nodes for sw in numa)

    @property
    def nic_count(self) -> int:
        return sum(sw.nics for numa in self.numa_nodes for sw in numa)


@dataclass(frozen=True)
class Node:
    """One kind node, with the name kind will give it."""

    name: str
    role: str  # "control-plane" or "worker"
    zone: str | None
    rack: str | None
    hardware: HardwareProfile | None
    labels: dict[str, str] = field(default_factory=dict)
    # Read off a cluster the harness did not create (harness/cluster/discover.py): `labels` are the
    # node's own, and the harness sets none.
    discovered: bool = False

    def all_labels(self) -> dict[str, str]:
        labels = dict(self.labels)
        if self.discovered:
            return labels
        if self.zone:
            labels[ZONE_LABEL] = self.zone
        if self.rack:
            labels[RACK_LABEL] = self.rack
        if self.hardware:
            labels[PROFILE_LABEL] = self.hardware.name
        return labels


@dataclass(frozen=True)
class PortMapping:
    """A NodePort reachable on 127.0.0.1:host_port through kind's extraPortMappings."""

    node_port: int
    host_port: int

    @property
    def url(self) -> str:
        """The mapped NodePort's base URL on the host: the only address load may go to."""
        return f"http://127.0.0.1:{self.host_port}"


@dataclass(frozen=True)
class Timing:
    """Control-plane and controller intervals the testbed runs with, in seconds. Upstream defaults suit
    production clusters; a testbed shortens them so that checks wait on the cluster's reaction, not on
    a timer. The report records what the cluster actually runs with (report/environment.py), so a
    figure such as "NotReady after N s" is read against them."""

    # kube-controller-manager --node-monitor-grace-period: a node whose kubelet has not renewed its
    # lease this long is marked NotReady (upstream 50 s).
    node_monitor_grace_period: int = 20
    # kubelet nodeLeaseDurationSeconds: the heartbeat lease, renewed every quarter of it (upstream
    # 40 s, so every 10 s); 16 s renews every 4 s, five heartbeats per grace period.
    node_lease_duration: int = 16
    # kube-controller-manager --horizontal-pod-autoscaler-sync-period: how often the HPA behind a
    # KEDA ScaledObject acts on its metric (upstream 15 s).
    hpa_sync_period: int = 5
    # Kueue's waitForPodsReady timeout where the gang suite turns it on: a group not Ready this long
    # is evicted and requeued. Above the time a healthy group takes to be Ready on a busy testbed.
    kueue_wait_for_pods_ready: int = 30


@dataclass(frozen=True)
class Testbed:
    name: str
    kubernetes: str
    nodes: tuple[Node, ...]
    profiles: dict[str, HardwareProfile]
    feature_gates: dict[str, bool]
    runtime_config: dict[str, str]
    ports: tuple[PortMapping, ...]
    source: str  # the file it came from, for messages
    driver: str = "fake-gpu"  # harness.spec.load.DRIVERS
    timing: Timing = Timing()
    node_image: str | None = None  # the user's own node image (registry mode), instead of kind's published one
    kubernetes_pinned: bool = False  # the spec names no version: `kubernetes` is versions.yaml's

    @property
    def workers(self) -> list[Node]:
        return [n for n in self.nodes if n.role == "worker"]

    @property
    def control_plane(self) -> Node:
        return next(n for n in self.nodes if n.role == "control-plane")

    def endpoint(self) -> PortMapping:
        """The NodePort mapped to 127.0.0.1 that services are exposed on (the first of `ports`)."""
        if not self.ports:
            # An existing cluster maps a NodePort to 127.0.0.1 only when the user says so (--llmc-host-port).
            raise NotApplicable("no NodePort is mapped to 127.0.0.1 (spec `ports:`, or --llmc-host-port N:H)")
        return self.ports[0]
