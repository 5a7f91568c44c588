"""The alignment claim layouts (harness/topology/claims.py) on the shipped testbed profiles: they fill
each worker, and first fit without the constraint is misaligned by construction."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.dra.claims import NUMA, NVLINK_CLIQUE, PCIE_ROOT, gpu_index_is
from harness.dra.install import node_inventories
from harness.spec import load_spec
from harness.topology.claims import layout

# The shipped testbeds with device topology (the DRA test driver's devices have none to lay out on).
PROFILES = [
    p
    for p in sorted((Path(__file__).parents[2] / "clusters").glob("*.yaml"))
    if load_spec(p).driver != "dra-test-driver"
]


def _requests(claim: dict) -> dict:
    return {r["name"]: r["exactly"] for r in claim["spec"]["devices"]["requests"]}


@pytest.mark.parametrize("file", PROFILES, ids=lambda p: p.name)
def test_numa_layout_pins_each_gpu_away_from_the_first_fit_nic(file: Path) -> None:
    spec = load_spec(file)
    rounds = layout(spec, NUMA)
    for inv in node_inventories(spec):
        nics = sorted(inv.nics, key=lambda n: n.index)
        claims = [p.claim.obj() for r in rounds for p in r if p.node == inv.node]
        assert len(claims) == len(nics)
        numa_of_gpu = {g.index: g.numa for g in inv.gpus}
        for k, claim in enumerate(claims):
            selector = _requests(claim)["gpu"]["selectors"][0]["cel"]["expression"]
            gpu = next(i for i in numa_of_gpu if selector == gpu_index_is(i))
            assert numa_of_gpu[gpu] == nics[-1 - k].numa  # satisfiable with the constraint
            assert numa_of_gpu[gpu] != nics[k].numa  # first fit takes NIC k: misaligned
            assert claim["spec"]["devices"]["constraints"] == [{"matchAttribute": NUMA}]
    assert all("constraints" not in p.claim.obj()["spec"]["devices"] for r in layout(spec, NUMA, False) for p in r)


@pytest.mark.parametrize("attribute", [PCIE_ROOT, NVLINK_CLIQUE])
@pytest.mark.parametrize("file", PROFILES, ids=lambda p: p.name)
def test_pair_layouts_fill_the_gpus_and_start_across_a_boundary(file: Path, attribute: str) -> None:
    spec = load_spec(file)
    rounds = layout(spec, attribute)
    for inv in node_inventories(spec):
        claims = [p.claim.obj() for r in rounds for p in r if p.node == inv.node]
        assert len(claims) == len(inv.gpus) // 2
        first = _requests(claims[0])["gpu"]
        assert first["count"] == 2 and "!(" in first["selectors"][0]["cel"]["expression"]
        assert all("selectors" not in _requests(c)["gpu"] for c in claims[1:])
