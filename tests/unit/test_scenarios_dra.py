"""The dra suite's claims are ones first fit gets wrong: the NVLink claim leaves out the first
clique's other GPUs, so without its constraint first fit straddles two cliques."""

from __future__ import annotations

import dataclasses

import pytest

from harness.checks import NotApplicable
from harness.dra.claims import NVLINK_CLIQUE, gpu_index_is
from harness.scenarios.dra import nvlink_claim
from harness.spec import load_spec


@pytest.mark.parametrize(
    ("spec", "name", "excluded"),
    [("clusters/default.yaml", "hgx-like", [1]), ("clusters/dual-island.yaml", None, [1, 2, 3])],
)
def test_nvlink_claim_leaves_out_the_first_cliques_other_gpus(spec: str, name: str | None, excluded: list[int]) -> None:
    testbed = load_spec(spec)
    hardware = testbed.workers[0].hardware
    assert hardware is not None and (name is None or hardware.name == name)
    claim = nvlink_claim(hardware).obj()
    request = claim["spec"]["devices"]["requests"][0]["exactly"]
    assert request["count"] == 2
    assert request["selectors"][0]["cel"]["expression"] == " && ".join(f"!({gpu_index_is(i)})" for i in excluded)
    assert claim["spec"]["devices"]["constraints"] == [{"matchAttribute": NVLINK_CLIQUE}]
    free = nvlink_claim(hardware, constrained=False).obj()
    assert "constraints" not in free["spec"]["devices"]
    assert free["spec"]["devices"]["requests"] == claim["spec"]["devices"]["requests"]


def test_nvlink_claim_is_not_applicable_with_one_clique() -> None:
    hardware = load_spec("clusters/default.yaml").workers[0].hardware
    assert hardware is not None
    with pytest.raises(NotApplicable, match="1 NVLink cliques"):
        nvlink_claim(dataclasses.replace(hardware, nvlink_cliques=((0, 1),)))
