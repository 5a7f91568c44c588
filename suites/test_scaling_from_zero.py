"""Scaling from zero: an LWS at zero groups behind a request-holding gateway (mock_vllm.gateway, the
role of KEDA's HTTP add-on interceptor) that KEDA scales on the engines' queue plus the requests the
gateway holds. The first request must be answered in full, by a group created for it.

Its own module: the gateway takes the testbed's NodePort, which test_scaling.py's service holds for
that whole module. Negative control: tests/cluster/test_scaling_negative.py (KEDA on the engines'
queue alone never hears of the first request).
"""

from __future__ import annotations

from contextlib import ExitStack

import pytest

from harness.checks import scaling
from harness.cluster.testbed import TestbedCluster
from harness.kube.client import Clients
from harness.report.record import CheckRecord
from harness.scenarios.scaling import FROM_ZERO_HOLD, from_zero_service
from harness.serving import inference

pytestmark = pytest.mark.scaling


def test_keda_scales_from_zero_on_the_first_request(
    record: CheckRecord, kube: Clients, testbed: TestbedCluster, mock_vllm: str
) -> None:
    """KEDA scales an LWS from zero groups on the first request, which is answered in full"""
    with ExitStack() as scenario:
        with record.step("LWS at zero groups behind the gateway, scaled by KEDA"):
            svc = scenario.enter_context(from_zero_service(kube, testbed, inference.waiting_or_held_query))
        record.event("first request sent")
        with record.step("first request answered from zero groups", kind="observe"):
            ttft, ready = scaling.scaled_from_zero(kube, svc, testbed.endpoint().host_port, FROM_ZERO_HOLD)
    record.figure("first_request_ttft", ttft, "s", "zero groups → first token through the gateway")
    record.figure("group_ready_after", ready, "s", "first request → the new group's leader Ready (1 s resolution)")
    record.evidence(
        f"KEDA on {inference.waiting_or_held_query(svc.namespace)}: 0 → 1 group; the gateway held the "
        f"request {ttft:.1f} s and forwarded it; 8 of 8 tokens"
    )
