"""The testbed spec: shipped specs load, and every kind of mistake is named with its path and reason."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.checks import NotApplicable
from harness.spec import RACK_LABEL, ZONE_LABEL, SpecError, Timing, load_spec, parse_spec

ROOT = Path(__file__).resolve().parents[2]

VALID: dict[str, Any] = {
    "name": "t",
    "hardwareProfiles": {
        "hgx-like": {
            "gpu": {"model": "G", "memory": "80Gi"},
            "nic": {"model": "N", "rdma": True},
            "numa": [{"pcieSwitches": [{"gpus": 2, "nics": 1}]}, {"pcieSwitches": [{"gpus": 2}, {"nics": 1}]}],
            "nvlinkCliques": [[0, 1, 2, 3]],
        },
        "pcie-dual-island": {
            "gpu": {"model": "G", "memory": "48Gi"},
            "nic": {"model": "N"},
            "numa": [{"pcieSwitches": [{"gpus": 2, "nics": 1}]}, {"pcieSwitches": [{"gpus": 2, "nics": 1}]}],
            "nvlinkCliques": [[0, 1], [2, 3]],
        },
    },
    "nodes": [
        {"role": "control-plane"},
        {"role": "worker", "count": 2, "zone": "z1", "rack": "r1", "hardware": "hgx-like"},
        {"role": "worker", "zone": "z1", "rack": "r2", "hardware": "pcie-dual-island"},
    ],
    "ports": [{"nodePort": 30080, "hostPort": 30080}],
}


def problems_of(data: Any) -> list[str]:
    with pytest.raises(SpecError) as err:
        parse_spec(yaml.safe_dump(data), source="t.yaml")
    return err.value.problems


def mutate(path: str, value: Any) -> dict[str, Any]:
    """A copy of VALID with the value at a dotted path (list indices as numbers) replaced or, for
    value DELETE, removed."""
    data = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    target: Any = data
    for key in parents:
        target = target[int(key)] if key.isdigit() else target[key]
    key: Any = int(last) if last.isdigit() else last
    if value is DELETE:
        del target[key]
    else:
        target[key] = value
    return data


DELETE = object()


@pytest.mark.parametrize("file", sorted((ROOT / "clusters").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_specs_are_valid(file: Path) -> None:
    spec = load_spec(file)
    assert spec.workers, "every testbed has workers"


def test_default_testbed_is_the_documented_one() -> None:
    spec = load_spec(ROOT / "clusters" / "default.yaml")
    assert [n.name for n in spec.nodes] == [
        "llmc-control-plane",
        "llmc-worker",
        "llmc-worker2",
        "llmc-worker3",
        "llmc-worker4",
    ]
    assert {n.rack for n in spec.workers} == {"rack-1", "rack-2"}
    for node in spec.workers:
        assert node.hardware is not None
        gpus, nics = node.hardware.inventory()
        assert (len(gpus), len(nics)) == (4, 2)
        assert {g.numa for g in gpus} == {0, 1}


def test_dual_island_profile_has_two_nvlink_cliques() -> None:
    spec = load_spec(ROOT / "clusters" / "dual-island.yaml")
    profile = spec.profiles["pcie-dual-island"]
    gpus, _ = profile.inventory()
    cliques = {g.nvlink_clique for g in gpus}
    assert cliques == {0, 1}
    # each clique stays on one NUMA island
    for clique in cliques:
        assert len({g.numa for g in gpus if g.nvlink_clique == clique}) == 1


def test_nodes_get_kind_names_and_labels() -> None:
    spec = parse_spec(yaml.safe_dump(VALID))
    names = [n.name for n in spec.nodes]
    assert names == ["t-control-plane", "t-worker", "t-worker2", "t-worker3"]
    labels = spec.nodes[3].all_labels()
    assert labels[ZONE_LABEL] == "z1" and labels[RACK_LABEL] == "r2"


def test_the_endpoint_is_the_first_mapped_port_else_not_applicable() -> None:
    spec = parse_spec(yaml.safe_dump(VALID))
    assert spec.endpoint().url == "http://127.0.0.1:30080"
    with pytest.raises(NotApplicable, match="no NodePort is mapped"):
        dataclasses.replace(spec, ports=()).endpoint()


def test_inventory_is_deterministic_and_follows_the_topology() -> None:
    spec = parse_spec(yaml.safe_dump(VALID))
    hw = spec.profiles["hgx-like"]
    gpus, nics = hw.inventory()
    assert [(g.index, g.numa, g.pcie_switch, g.nvlink_clique) for g in gpus] == [
        (0, 0, "numa0-sw0", 0),
        (1, 0, "numa0-sw0", 0),
        (2, 1, "numa1-sw0", 0),
        (3, 1, "numa1-sw0", 0),
    ]
    assert [(n.index, n.numa, n.pcie_switch) for n in nics] == [(0, 0, "numa0-sw0"), (1, 1, "numa1-sw1")]
    assert hw.inventory() == (gpus, nics)


BAD: list[tuple[str, Any, str]] = [
    # (dotted path, new value, expected problem text)
    ("nodes.2.hardware", "hgx", "nodes[2].hardware: unknown profile 'hgx'; known: hgx-like, pcie-dual-island"),
    ("name", "Bad_Name", "name: 'Bad_Name' is not a DNS label"),
    ("name", "x" * 41, "name: 41 characters; at most 40"),
    ("name", DELETE, "name: required field is missing"),
    ("nodes", DELETE, "nodes: required field is missing"),
    ("nodes", [], "nodes: must not be empty"),
    ("nodes", {"role": "worker"}, "nodes: must be a list, got a mapping"),
    ("kubernetes", "1.37", "kubernetes: '1.37' is not a Kubernetes version"),
    ("kubernetes", "v1.30.0", "kubernetes: v1.30.0 is too old"),
    ("colour", "blue", "colour: unknown field"),
    ("nodes.1.colour", "blue", "nodes[1].colour: unknown field"),
    ("nodes.1.role", "gpu-node", "nodes[1].role: must be one of control-plane, worker"),
    ("nodes.1.count", 0, "nodes[1].count: 0 is out of range 1..10"),
    ("nodes.1.count", "two", "nodes[1].count: must be an integer"),
    ("nodes.1.count", True, "nodes[1].count: must be an integer, got the boolean True"),
    ("nodes.1.count", 9, "nodes: 11 nodes in all; at most 10"),
    ("nodes.0.count", 2, "nodes[0].count: exactly one control-plane node is supported"),
    ("nodes.0.hardware", "hgx-like", "nodes[0].hardware: the control-plane runs no GPU workloads"),
    ("nodes.0.role", "worker", "nodes: no control-plane node"),
    ("nodes.1.rack", "bad rack", "nodes[1].rack: 'bad rack' is not a label value"),
    ("nodes.2", {"role": "worker", "zone": "z2", "rack": "r1"}, "nodes[2].rack: rack 'r1' is in zone 'z1' at nodes[1]"),
    ("nodes.1.labels", {ZONE_LABEL: "x"}, f"nodes[1].labels.{ZONE_LABEL}: set by the harness"),
    ("nodes.1.labels", {"bad key!": "x"}, "is not a label key"),
    ("nodes.1.labels", {"team": "x" * 64}, "nodes[1].labels.team: "),
    ("featureGates", {"DRAConsumableCapacity": "yes"}, "featureGates.DRAConsumableCapacity: must be true or false"),
    ("featureGates", {"lowercase": True}, "featureGates.lowercase: 'lowercase' is not a feature gate name"),
    ("timing", {"nodeMonitorGraceSeconds": 20}, "timing.nodeMonitorGraceSeconds: unknown field"),
    ("timing", {"hpaSyncPeriodSeconds": 0}, "timing.hpaSyncPeriodSeconds: 0 is out of range 1..60"),
    ("timing", {"nodeMonitorGracePeriodSeconds": "20s"}, "timing.nodeMonitorGracePeriodSeconds: must be an integer"),
    (
        "timing",
        {"nodeMonitorGracePeriodSeconds": 10, "nodeLeaseDurationSeconds": 40},
        "timing.nodeMonitorGracePeriodSeconds: 10 s is shorter than the node lease (40 s, renewed every 10 s)",
    ),
    ("featureGates", ["A"], "featureGates: must be a mapping, got a list"),
    ("ports.0.nodePort", 80, "ports[0].nodePort: 80 is out of range 30000..32767"),
    ("ports.0.hostPort", 22, "ports[0].hostPort: 22 is out of range 1024..65535"),
    ("ports.0.hostPort", DELETE, "ports[0].hostPort: required field is missing"),
    (
        "ports",
        [{"nodePort": 30080, "hostPort": 30080}, {"nodePort": 30080, "hostPort": 30081}],
        "ports[1].nodePort: 30080 is mapped twice",
    ),
    (
        "ports",
        [{"nodePort": 30080, "hostPort": 30080}, {"nodePort": 30081, "hostPort": 30080}],
        "ports[1].hostPort: 30080 is used twice",
    ),
    ("hardwareProfiles.hgx-like.gpu.memory", "80GB", "hardwareProfiles.hgx-like.gpu.memory: '80GB' is not a memory"),
    ("hardwareProfiles.hgx-like.gpu", DELETE, "hardwareProfiles.hgx-like.gpu: required field is missing"),
    ("hardwareProfiles.hgx-like.nic.rdma", "yes", "hardwareProfiles.hgx-like.nic.rdma: must be true or false"),
    ("hardwareProfiles.hgx-like.numa", [], "hardwareProfiles.hgx-like.numa: must not be empty"),
    (
        "hardwareProfiles.hgx-like.numa",
        [{"pcieSwitches": [{"nics": 1}]}],
        "hardwareProfiles.hgx-like.numa: the profile has no GPUs",
    ),
    (
        "hardwareProfiles.hgx-like.numa.0.pcieSwitches",
        [{}],
        "hardwareProfiles.hgx-like.numa[0].pcieSwitches[0]: a PCIe switch with no GPUs and no NICs",
    ),
    (
        "hardwareProfiles.hgx-like.numa.0.pcieSwitches",
        [{"gpus": -1, "nics": 1}],
        "hardwareProfiles.hgx-like.numa[0].pcieSwitches[0].gpus: -1 is out of range",
    ),
    (
        "hardwareProfiles.hgx-like.numa.0.pcieSwitches",
        [{"gpus": 1, "nvme": 1}],
        "hardwareProfiles.hgx-like.numa[0].pcieSwitches[0].nvme: unknown field",
    ),
    (
        "hardwareProfiles.hgx-like.numa",
        [{"pcieSwitches": [{"gpus": 1}]}] * 9,
        "hardwareProfiles.hgx-like.numa: 9 NUMA nodes; at most 8",
    ),
    (
        "hardwareProfiles.hgx-like.nvlinkCliques",
        [[0, 1], [1, 2]],
        "hardwareProfiles.hgx-like.nvlinkCliques[1][0]: GPU 1 is already in nvlinkCliques[0]",
    ),
    (
        "hardwareProfiles.hgx-like.nvlinkCliques",
        [[0, 4]],
        "hardwareProfiles.hgx-like.nvlinkCliques[0][1]: 4 is out of range 0..3",
    ),
    ("hardwareProfiles.hgx-like.nvlinkCliques", [[2]], "nvlinkCliques[0]: an NVLink clique needs at least 2 GPUs"),
    ("hardwareProfiles.HGX", VALID["hardwareProfiles"]["hgx-like"], "hardwareProfiles.HGX: 'HGX' is not a DNS label"),
]


@pytest.mark.parametrize(("path", "value", "expected"), BAD, ids=[f"{p}={v!r}"[:60] for p, v, _ in BAD])
def test_invalid_spec_names_field_and_reason(path: str, value: Any, expected: str) -> None:
    problems = problems_of(mutate(path, value))
    assert any(expected in p for p in problems), f"expected {expected!r} among {problems}"


def test_all_problems_are_reported_at_once() -> None:
    data = mutate("name", "Bad")
    data["nodes"][1]["hardware"] = "nope"
    data["ports"][0]["nodePort"] = 1
    assert len(problems_of(data)) == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "(top): the spec is empty"),
        ("- a\n- b\n", "(top): must be a mapping, got a list"),
        ("name: [unclosed\n", "line 2, column 1: not valid YAML"),
    ],
)
def test_unreadable_specs(text: str, expected: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_spec(text, source="t.yaml")
    assert any(expected in p for p in err.value.problems), err.value.problems


def test_missing_file_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read file"):
        load_spec(tmp_path / "absent.yaml")


def test_driver_choice_is_validated() -> None:
    text = "name: t\nnodes: [{role: control-plane}, {role: worker}]\n"
    assert parse_spec(text).driver == "fake-gpu"
    assert parse_spec(text + "driver: dra-test-driver\n").driver == "dra-test-driver"
    with pytest.raises(SpecError, match="driver: 'nvidia' is not one of fake-gpu, fake-gpu-nvidia, dra-test-driver"):
        parse_spec(text + "driver: nvidia\n")


def test_shipped_driver_specs_load() -> None:
    assert load_spec(ROOT / "clusters" / "dra-test-driver.yaml").driver == "dra-test-driver"
    assert load_spec(ROOT / "clusters" / "nvidia-like.yaml").driver == "fake-gpu-nvidia"


def test_dra_test_driver_profiles_have_no_nics() -> None:
    text = (
        "name: t\ndriver: dra-test-driver\nhardwareProfiles:\n  p:\n    gpu: {model: g, memory: 1Gi}\n"
        "    nic: {model: n}\n    numa: [{pcieSwitches: [{gpus: 2, nics: 1}]}]\n"
        "nodes: [{role: control-plane}, {role: worker, hardware: p}]\n"
    )
    with pytest.raises(SpecError, match=r"hardwareProfiles\.p: has NICs; the dra-test-driver publishes GPUs only"):
        parse_spec(text)


def test_timing_defaults_suit_the_testbed_and_a_spec_can_set_them() -> None:
    assert parse_spec(yaml.safe_dump(VALID)).timing == Timing()
    data = {**VALID, "timing": {"nodeMonitorGracePeriodSeconds": 50, "nodeLeaseDurationSeconds": 40}}
    timing = parse_spec(yaml.safe_dump(data)).timing
    assert (timing.node_monitor_grace_period, timing.node_lease_duration) == (50, 40)
    assert timing.hpa_sync_period == Timing().hpa_sync_period
