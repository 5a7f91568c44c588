"""The fake GPU driver's objects: what each node publishes, derived from the testbed spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fake_gpu import DRIVER, cli, inventory
from fake_gpu.inventory import InventoryError, from_spec
from fake_gpu.slices import NUMA_ATTRIBUTE, PCIE_ROOT_ATTRIBUTE, device_classes, resource_slices

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "clusters" / "default.yaml"
DUAL = ROOT / "clusters" / "dual-island.yaml"


def devices(spec: Path, node: str) -> dict[str, dict[str, Any]]:
    return {d["name"]: d for d in resource_slices(from_spec(spec, node))[0]["spec"]["devices"]}


def attr(device: dict[str, Any], name: str) -> Any:
    return next(iter(device["attributes"][name].values())) if name in device["attributes"] else None


def test_slice_is_one_pool_for_the_node() -> None:
    [obj] = resource_slices(from_spec(DEFAULT, "llmc-worker3"))
    assert obj["metadata"]["name"] == "llmc-worker3-gpu.llm-conformance.io-0"
    assert obj["apiVersion"] == "resource.k8s.io/v1"
    assert obj["spec"]["driver"] == DRIVER
    assert obj["spec"]["nodeName"] == "llmc-worker3"
    assert obj["spec"]["pool"] == {"name": "llmc-worker3", "generation": 1, "resourceSliceCount": 1}


def test_default_worker_devices_follow_the_profile() -> None:
    # default.yaml: NUMA 0 = one switch (2 GPUs + NIC), NUMA 1 = a GPU switch and a NIC switch.
    d = devices(DEFAULT, "llmc-worker")
    assert sorted(d) == ["gpu-0", "gpu-1", "gpu-2", "gpu-3", "nic-0", "nic-1"]
    assert [attr(d[f"gpu-{i}"], NUMA_ATTRIBUTE) for i in range(4)] == [0, 0, 1, 1]
    assert [attr(d[f"nic-{i}"], NUMA_ATTRIBUTE) for i in range(2)] == [0, 1]
    assert attr(d["gpu-0"], PCIE_ROOT_ATTRIBUTE) == attr(d["nic-0"], PCIE_ROOT_ATTRIBUTE)
    # Same NUMA node, different switch: the pcieRoot differs where the NUMA node does not.
    assert attr(d["gpu-2"], PCIE_ROOT_ATTRIBUTE) != attr(d["nic-1"], PCIE_ROOT_ATTRIBUTE)
    assert [attr(d[f"gpu-{i}"], "nvlinkClique") for i in range(4)] == [0, 0, 1, 1]
    assert d["gpu-0"]["capacity"] == {"memory": {"value": "80Gi"}}
    assert attr(d["gpu-0"], "model") == "FAKE-H100-80GB"
    assert attr(d["nic-0"], "rdma") is True and "capacity" not in d["nic-0"]
    assert {attr(x, "type") for x in d.values()} == {"gpu", "nic"}


def test_numa_attribute_has_one_name_for_gpus_and_nics() -> None:
    # matchAttribute aligns devices only through an attribute both carry under the same name.
    for device in devices(DEFAULT, "llmc-worker").values():
        assert NUMA_ATTRIBUTE in device["attributes"] and PCIE_ROOT_ATTRIBUTE in device["attributes"]


def test_dual_island_has_a_clique_per_island() -> None:
    d = devices(DUAL, "llmc-islands-worker")
    gpus = [d[f"gpu-{i}"] for i in range(8)]
    assert [attr(g, "nvlinkClique") for g in gpus] == [0] * 4 + [1] * 4
    assert [attr(g, NUMA_ATTRIBUTE) for g in gpus] == [0] * 4 + [1] * 4
    assert len({attr(g, PCIE_ROOT_ATTRIBUTE) for g in gpus}) == 4


def test_uuids_are_unique_and_stable() -> None:
    a, b = devices(DEFAULT, "llmc-worker"), devices(DEFAULT, "llmc-worker2")
    uuids = [attr(x, "uuid") for x in (*a.values(), *b.values())]
    assert len(set(uuids)) == len(uuids)
    assert attr(a["gpu-0"], "uuid") == attr(devices(DEFAULT, "llmc-worker")["gpu-0"], "uuid")
    assert attr(a["gpu-0"], "uuid").startswith("GPU-") and attr(a["nic-0"], "uuid").startswith("NIC-")


def test_gpu_outside_every_clique_has_no_clique_attribute() -> None:
    inv = from_spec(DEFAULT, "llmc-worker")
    lone = inv.gpus[0].__class__(**{**inv.gpus[0].__dict__, "nvlink_clique": None})
    inv = inv.__class__(inv.node, inv.rack, (lone,), ())
    assert "nvlinkClique" not in resource_slices(inv)[0]["spec"]["devices"][0]["attributes"]


def test_large_pools_split_into_slices_of_128() -> None:
    inv = from_spec(DEFAULT, "llmc-worker")
    gpus = tuple(inv.gpus[0].__class__(i, 0, "numa0-sw0", "G", "80Gi", None) for i in range(200))
    objs = resource_slices(inv.__class__(inv.node, inv.rack, gpus, inv.nics))
    assert [len(o["spec"]["devices"]) for o in objs] == [128, 74]
    assert {o["spec"]["pool"]["resourceSliceCount"] for o in objs} == {2}
    assert len({o["metadata"]["name"] for o in objs}) == 2


def test_device_classes_select_by_type() -> None:
    classes = {c["metadata"]["name"]: c["spec"]["selectors"][0]["cel"]["expression"] for c in device_classes()}
    assert set(classes) == {"gpu.llm-conformance.io", "nic.llm-conformance.io"}
    assert '.type == "gpu"' in classes["gpu.llm-conformance.io"]
    assert '.type == "nic"' in classes["nic.llm-conformance.io"]
    assert all(f'device.driver == "{DRIVER}"' in e for e in classes.values())


def test_inventory_document_round_trips() -> None:
    invs = [from_spec(DEFAULT, n) for n in ("llmc-worker", "llmc-worker3")]
    doc = json.loads(json.dumps(inventory.document(invs)))
    assert inventory.from_json(doc, "llmc-worker3") == invs[1]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({}, "nodes: expected a mapping"),
        ({"nodes": {}}, "nodes.n: no inventory for this node"),
        ({"nodes": {"n": {"gpus": [], "nics": "x"}}}, "nodes.n.nics: expected list"),
        ({"nodes": {"n": {"gpus": [{"index": 0}], "nics": []}}}, "nodes.n.gpus[0].numa: missing"),
        (
            {"nodes": {"n": {"gpus": [], "nics": [{"index": 0, "numa": True}]}}},
            "nodes.n.nics[0].numa: expected int",
        ),
    ],
)
def test_bad_inventory_names_the_field(document: dict[str, Any], message: str) -> None:
    with pytest.raises(InventoryError, match=message.replace("[", r"\[").replace("]", r"\]")):
        inventory.from_json(document, "n")


def test_unknown_node_in_spec_is_named() -> None:
    with pytest.raises(InventoryError, match="no node 'nope'"):
        from_spec(DEFAULT, "nope")
    with pytest.raises(InventoryError, match="no hardware profile"):
        from_spec(DEFAULT, "llmc-control-plane")


def test_cli_renders_a_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["render-slices", "--spec", str(DEFAULT), "--node", "llmc-worker2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [i["kind"] for i in out["items"]] == ["ResourceSlice"]
    assert cli.main(["render-slices", "--spec", str(DEFAULT), "--node", "nope"]) == 2
