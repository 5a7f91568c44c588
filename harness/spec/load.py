"""Load and validate a testbed spec.

Every problem is reported with the path of the field and the reason, all at once, before anything
is created: `nodes[2].hardware: unknown profile 'hgx'; known: hgx-like, pcie-dual-island`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from harness import versions
from harness.spec.model import (
    PROFILE_LABEL,
    RACK_LABEL,
    ZONE_LABEL,
    HardwareProfile,
    Node,
    PCIeSwitch,
    PortMapping,
    Testbed,
    Timing,
)

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")
LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
FEATURE_GATE = re.compile(r"^[A-Z][A-Za-z0-9]*$")
QUANTITY = re.compile(r"^[1-9][0-9]*(Ki|Mi|Gi|Ti)?$")
K8S_VERSION = re.compile(r"^v1\.(\d+)\.(\d+)$")

MIN_KUBERNETES_MINOR = 34  # resource.k8s.io/v1 (DRA GA) is served from 1.34 on
MAX_NAME_LENGTH = 40  # node names add up to 14 characters ("-control-plane") to a 63-char hostname
MAX_NODES = 10  # every node is a container on a 2-core, 24 GiB machine
MAX_PER_LEVEL = 8  # NUMA nodes per node, switches per NUMA node
MAX_DEVICES_PER_SWITCH = 16
NODE_PORTS = range(30000, 32768)

TOP_KEYS = {
    "name",
    "kubernetes",
    "featureGates",
    "runtimeConfig",
    "ports",
    "hardwareProfiles",
    "nodes",
    "driver",
    "timing",
    "nodeImage",
}
# The DRA driver a testbed runs (harness/dra/install.py installs it): the fake GPU/NIC driver, its
# NVIDIA-shaped personality, or Kubernetes' own DRA test driver (GPU counts only: no NICs, no topology).
DRIVERS = ("fake-gpu", "fake-gpu-nvidia", "dra-test-driver")
# timing: spec key -> Timing field, with the seconds allowed.
TIMING_KEYS = {
    "nodeMonitorGracePeriodSeconds": ("node_monitor_grace_period", 8, 300),
    "nodeLeaseDurationSeconds": ("node_lease_duration", 4, 300),
    "hpaSyncPeriodSeconds": ("hpa_sync_period", 1, 60),
    "kueueWaitForPodsReadySeconds": ("kueue_wait_for_pods_ready", 5, 600),
}
PROFILE_KEYS = {"gpu", "nic", "numa", "nvlinkCliques"}
NODE_KEYS = {"role", "count", "zone", "rack", "hardware", "labels"}
ROLES = ("control-plane", "worker")


class SpecError(ValueError):
    """An invalid spec; `problems` holds one `path: reason` line per problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: invalid testbed spec\n" + "\n".join(f"  {p}" for p in problems))


class _Checker:
    """Collects problems while reading untrusted YAML data."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, path: str, reason: str) -> None:
        self.problems.append(f"{path}: {reason}")

    def mapping(self, value: Any, path: str, allowed: set[str] | None = None) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(path, f"must be a mapping, got {_kind(value)}")
            return {}
        for key in value:
            if not isinstance(key, str):
                self.fail(path, f"keys must be strings, got {key!r}")
            elif allowed is not None and key not in allowed:
                self.fail(_join(path, key), f"unknown field; allowed: {', '.join(sorted(allowed))}")
        return value

    def sequence(self, value: Any, path: str, non_empty: bool = True) -> list[Any]:
        if not isinstance(value, list):
            self.fail(path, f"must be a list, got {_kind(value)}")
            return []
        if non_empty and not value:
            self.fail(path, "must not be empty")
        return value

    def string(self, value: Any, path: str, pattern: re.Pattern[str] | None = None, what: str = "") -> str | None:
        if not isinstance(value, str) or not value:
            self.fail(path, f"must be a non-empty string, got {_kind(value)}")
            return None
        if pattern is not None and not pattern.match(value):
            self.fail(path, f"{value!r} is not {what}")
            return None
        return value

    def integer(self, value: Any, path: str, low: int, high: int) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, f"must be an integer, got {_kind(value)}")
            return None
        if not low <= value <= high:
            self.fail(path, f"{value} is out of range {low}..{high}")
            return None
        return value

    def boolean(self, value: Any, path: str) -> bool | None:
        if not isinstance(value, bool):
            self.fail(path, f"must be true or false, got {_kind(value)}")
            return None
        return value


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: f"the string {value!r}", bool: f"the boolean {value}"}.get(
        type(value), f"{type(value).__name__} {value!r}"
    )


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def load_spec(path: str | Path) -> Testbed:
    """Read and validate a spec file; raises SpecError listing every problem."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise SpecError(str(path), [f"cannot read file: {e.strerror}"]) from None
    return parse_spec(text, source=str(path))


def parse_spec(text: str, source: str = "<spec>") -> Testbed:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        raise SpecError(source, [f"{where}: not valid YAML: {getattr(e, 'problem', e)}"]) from None
    check = _Checker()
    testbed = _read_testbed(check, data, source)
    if check.problems or testbed is None:
        raise SpecError(source, check.problems)
    return testbed


def _read_driver(check: _Checker, value: Any, profiles: dict[str, HardwareProfile]) -> str:
    if value not in DRIVERS:
        check.fail("driver", f"{value!r} is not one of {', '.join(DRIVERS)}")
        return "fake-gpu"
    if value == "dra-test-driver":
        for name, p in profiles.items():
            if p.nic_count:
                check.fail(f"hardwareProfiles.{name}", "has NICs; the dra-test-driver publishes GPUs only")
    return str(value)


def _read_testbed(check: _Checker, data: Any, source: str) -> Testbed | None:
    if data is None:
        check.fail("(top)", "the spec is empty")
        return None
    top = check.mapping(data, "(top)", TOP_KEYS)
    if not top:
        return None
    for required in ("name", "nodes"):
        if required not in top:
            check.fail(required, "required field is missing")

    name = check.string(top.get("name"), "name", DNS_LABEL, "a DNS label (lowercase letters, digits, '-')")
    if name and len(name) > MAX_NAME_LENGTH:
        check.fail("name", f"{len(name)} characters; at most {MAX_NAME_LENGTH} (kind node names extend it)")

    kubernetes = versions.pinned()["kubernetes"]
    if "kubernetes" in top:
        given = check.string(top["kubernetes"], "kubernetes", K8S_VERSION, "a Kubernetes version like v1.37.2")
        if given:
            match = K8S_VERSION.match(given)
            assert match is not None
            if int(match.group(1)) < MIN_KUBERNETES_MINOR:
                check.fail(
                    "kubernetes",
                    f"{given} is too old; DRA (resource.k8s.io/v1) needs v1.{MIN_KUBERNETES_MINOR} or later",
                )
            kubernetes = given
    node_image = check.string(top["nodeImage"], "nodeImage") if "nodeImage" in top else None

    feature_gates: dict[str, bool] = {}
    for gate, value in check.mapping(top.get("featureGates", {}), "featureGates").items():
        path = f"featureGates.{gate}"
        if check.string(gate, path, FEATURE_GATE, "a feature gate name (UpperCamelCase)"):
            enabled = check.boolean(value, path)
            if enabled is not None:
                feature_gates[gate] = enabled

    runtime_config: dict[str, str] = {}
    for api, value in check.mapping(top.get("runtimeConfig", {}), "runtimeConfig").items():
        path = f"runtimeConfig.{api}"
        if isinstance(value, bool):
            value = str(value).lower()
        if check.string(value, path):
            runtime_config[str(api)] = value

    ports = _read_ports(check, top.get("ports", []))
    profiles = {}
    for pname, pdata in check.mapping(top.get("hardwareProfiles", {}), "hardwareProfiles").items():
        profile = _read_profile(check, str(pname), pdata, f"hardwareProfiles.{pname}")
        if profile:
            profiles[profile.name] = profile

    nodes = _read_nodes(check, top.get("nodes"), name or "kind", profiles) if "nodes" in top else []
    driver = _read_driver(check, top.get("driver", "fake-gpu"), profiles)
    timing = _read_timing(check, top.get("timing", {}))
    if check.problems or not name:
        return None
    return Testbed(
        name=name,
        kubernetes=kubernetes,
        nodes=tuple(nodes),
        profiles=profiles,
        feature_gates=feature_gates,
        runtime_config=runtime_config,
        ports=tuple(ports),
        source=source,
        driver=driver,
        timing=timing,
        node_image=node_image or None,
        kubernetes_pinned="kubernetes" not in top,
    )


def _read_timing(check: _Checker, data: Any) -> Timing:
    values: dict[str, int] = {}
    for key, value in check.mapping(data, "timing", set(TIMING_KEYS)).items():
        if key not in TIMING_KEYS:
            continue  # reported as an unknown field
        name, low, high = TIMING_KEYS[key]
        seconds = check.integer(value, f"timing.{key}", low, high)
        if seconds is not None:
            values[name] = seconds
    timing = Timing(**values)
    # The node controller must see several heartbeats per grace period, or a busy node flaps NotReady.
    if timing.node_monitor_grace_period < timing.node_lease_duration:
        check.fail(
            "timing.nodeMonitorGracePeriodSeconds",
            f"{timing.node_monitor_grace_period} s is shorter than the node lease "
            f"({timing.node_lease_duration} s, renewed every {timing.node_lease_duration / 4:g} s): "
            "at least the lease duration",
        )
    return timing


def _read_ports(check: _Checker, data: Any) -> list[PortMapping]:
    ports: list[PortMapping] = []
    seen_node: set[int] = set()
    seen_host: set[int] = set()
    for i, item in enumerate(check.sequence(data, "ports", non_empty=False)):
        path = f"ports[{i}]"
        entry = check.mapping(item, path, {"nodePort", "hostPort"})
        if not entry:
            continue
        for key in ("nodePort", "hostPort"):
            if key not in entry:
                check.fail(f"{path}.{key}", "required field is missing")
        node_port = check.integer(entry.get("nodePort"), f"{path}.nodePort", NODE_PORTS.start, NODE_PORTS.stop - 1)
        host_port = check.integer(entry.get("hostPort"), f"{path}.hostPort", 1024, 65535)
        if node_port in seen_node:
            check.fail(f"{path}.nodePort", f"{node_port} is mapped twice")
        if host_port in seen_host:
            check.fail(f"{path}.hostPort", f"{host_port} is used twice")
        if node_port is not None and host_port is not None:
            seen_node.add(node_port)
            seen_host.add(host_port)
            ports.append(PortMapping(node_port, host_port))
    return ports


def _read_profile(check: _Checker, name: str, data: Any, path: str) -> HardwareProfile | None:
    before = len(check.problems)
    check.string(name, path, DNS_LABEL, "a DNS label (lowercase letters, digits, '-')")
    profile = check.mapping(data, path, PROFILE_KEYS)
    for required in ("gpu", "nic", "numa"):
        if profile and required not in profile:
            check.fail(f"{path}.{required}", "required field is missing")

    gpu = check.mapping(profile.get("gpu", {}), f"{path}.gpu", {"model", "memory"})
    gpu_model = check.string(gpu.get("model"), f"{path}.gpu.model")
    gpu_memory = check.string(gpu.get("memory"), f"{path}.gpu.memory", QUANTITY, "a memory quantity like 80Gi")
    nic = check.mapping(profile.get("nic", {}), f"{path}.nic", {"model", "rdma"})
    nic_model = check.string(nic.get("model"), f"{path}.nic.model")
    nic_rdma = check.boolean(nic.get("rdma", True), f"{path}.nic.rdma")

    numa_nodes: list[tuple[PCIeSwitch, ...]] = []
    numa_list = check.sequence(profile.get("numa", []), f"{path}.numa")
    if len(numa_list) > MAX_PER_LEVEL:
        check.fail(f"{path}.numa", f"{len(numa_list)} NUMA nodes; at most {MAX_PER_LEVEL}")
    for n, numa in enumerate(numa_list):
        npath = f"{path}.numa[{n}]"
        switches_data = check.mapping(numa, npath, {"pcieSwitches"}).get("pcieSwitches")
        switches = []
        switch_list = check.sequence(switches_data, f"{npath}.pcieSwitches")
        if len(switch_list) > MAX_PER_LEVEL:
            check.fail(f"{npath}.pcieSwitches", f"{len(switch_list)} switches; at most {MAX_PER_LEVEL}")
        for s, switch in enumerate(switch_list):
            spath = f"{npath}.pcieSwitches[{s}]"
            sw = check.mapping(switch, spath, {"gpus", "nics"})
            gpus = check.integer(sw.get("gpus", 0), f"{spath}.gpus", 0, MAX_DEVICES_PER_SWITCH)
            nics = check.integer(sw.get("nics", 0), f"{spath}.nics", 0, MAX_DEVICES_PER_SWITCH)
            if gpus == 0 and nics == 0:
                check.fail(spath, "a PCIe switch with no GPUs and no NICs")
            switches.append(PCIeSwitch(gpus or 0, nics or 0))
        numa_nodes.append(tuple(switches))
    gpu_count = sum(sw.gpus for numa in numa_nodes for sw in numa)
    if numa_list and len(check.problems) == before and gpu_count == 0:
        check.fail(f"{path}.numa", "the profile has no GPUs")

    cliques: list[tuple[int, ...]] = []
    owner: dict[int, int] = {}
    for c, clique in enumerate(check.sequence(profile.get("nvlinkCliques", []), f"{path}.nvlinkCliques", False)):
        cpath = f"{path}.nvlinkCliques[{c}]"
        members = check.sequence(clique, cpath)
        if len(members) == 1:
            check.fail(cpath, "an NVLink clique needs at least 2 GPUs")
        indices = []
        for m, gpu_index in enumerate(members):
            index = check.integer(gpu_index, f"{cpath}[{m}]", 0, max(gpu_count - 1, 0))
            if index is None:
                continue
            if index in owner:
                check.fail(f"{cpath}[{m}]", f"GPU {index} is already in nvlinkCliques[{owner[index]}]")
                continue
            owner[index] = c
            indices.append(index)
        cliques.append(tuple(indices))

    if len(check.problems) > before:
        return None
    assert gpu_model and gpu_memory and nic_model and nic_rdma is not None
    return HardwareProfile(
        name=name,
        numa_nodes=tuple(numa_nodes),
        gpu_model=gpu_model,
        gpu_memory=gpu_memory,
        nic_model=nic_model,
        nic_rdma=nic_rdma,
        nvlink_cliques=tuple(cliques),
    )


def _read_nodes(check: _Checker, data: Any, cluster: str, profiles: dict[str, HardwareProfile]) -> list[Node]:
    nodes: list[Node] = []
    control_planes = 0
    rack_zone: dict[str, tuple[str | None, str]] = {}
    for i, item in enumerate(check.sequence(data, "nodes")):
        path = f"nodes[{i}]"
        entry = check.mapping(item, path, NODE_KEYS)
        if not entry:
            continue
        role = entry.get("role")
        if role not in ROLES:
            check.fail(f"{path}.role", f"must be one of {', '.join(ROLES)}, got {_kind(role)}")
            continue
        count = check.integer(entry.get("count", 1), f"{path}.count", 1, MAX_NODES) or 1
        zone = check.string(entry["zone"], f"{path}.zone", LABEL_VALUE, "a label value") if "zone" in entry else None
        rack = check.string(entry["rack"], f"{path}.rack", LABEL_VALUE, "a label value") if "rack" in entry else None

        hardware = None
        if "hardware" in entry:
            ref = entry["hardware"]
            if role == "control-plane":
                check.fail(f"{path}.hardware", "the control-plane runs no GPU workloads; give hardware to workers")
            elif not isinstance(ref, str) or ref not in profiles:
                known = ", ".join(sorted(profiles)) or "(none defined)"
                check.fail(f"{path}.hardware", f"unknown profile {ref!r}; known: {known}")
            else:
                hardware = profiles[ref]

        labels: dict[str, str] = {}
        for key, value in check.mapping(entry.get("labels", {}), f"{path}.labels").items():
            lpath = f"{path}.labels.{key}"
            if key in (ZONE_LABEL, RACK_LABEL, PROFILE_LABEL):
                check.fail(lpath, "set by the harness; use the node's zone, rack or hardware field")
            elif check.string(key, lpath, LABEL_KEY, "a label key") and check.string(
                value, lpath, LABEL_VALUE, "a label value (63 characters at most)"
            ):
                labels[key] = value

        if role == "control-plane":
            control_planes += count
            if control_planes > 1:
                check.fail(
                    path if count == 1 else f"{path}.count",
                    "exactly one control-plane node is supported "
                    "(several need kind's HA load balancer image, which the harness does not supply)",
                )
        if rack is not None:
            if rack in rack_zone and rack_zone[rack][0] != zone:
                check.fail(
                    f"{path}.rack",
                    f"rack {rack!r} is in zone {rack_zone[rack][0]!r} at "
                    f"{rack_zone[rack][1]}; a rack belongs to one zone",
                )
            rack_zone.setdefault(rack, (zone, path))
        for _ in range(count):
            nodes.append(Node("", role, zone, rack, hardware, labels))

    if nodes and control_planes == 0:
        check.fail("nodes", "no control-plane node; add one entry with role: control-plane")
    if nodes and not any(n.role == "worker" for n in nodes):
        check.fail("nodes", "no worker node; the suites schedule workloads on workers")
    if len(nodes) > MAX_NODES:
        check.fail("nodes", f"{len(nodes)} nodes in all; at most {MAX_NODES} fit on a 2-core, 24 GiB machine")
    return _name_like_kind(cluster, nodes)


def _name_like_kind(cluster: str, nodes: list[Node]) -> list[Node]:
    """kind names nodes <cluster>-control-plane, <cluster>-worker, <cluster>-worker2, ... in order."""
    named = []
    workers = 0
    for node in nodes:
        if node.role == "control-plane":
            name = f"{cluster}-control-plane"
        else:
            workers += 1
            name = f"{cluster}-worker{workers if workers > 1 else ''}"
        named.append(Node(name, node.role, node.zone, node.rack, node.hardware, node.labels))
    return named
