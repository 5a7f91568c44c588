"""The driver survives its own restart without losing prepared claims: a running pod's claim is
restored from the node's checkpoint, and is unprepared (its CDI spec removed) when the pod goes."""

from __future__ import annotations

import subprocess

import pytest
from kubernetes import client

from harness import timeouts
from harness.cluster.testbed import TestbedCluster
from harness.dra import install_fake_gpu
from harness.dra.claims import Claim, claim_pod
from harness.dra.install import NAMESPACE, restart_driver
from harness.kube.client import Clients
from harness.kube.namespaces import scratch_namespace
from harness.kube.objects import create
from harness.kube.pods import wait_ready
from harness.kube.waits import wait_until

pytestmark = pytest.mark.dra


def cdi_specs(node: str) -> str:
    # kind nodes are containers named after the node.
    out = subprocess.run(["docker", "exec", node, "ls", "/var/run/cdi"], capture_output=True, text=True, check=True)
    return out.stdout


def test_prepared_claim_survives_driver_restart(kube: Clients, testbed: TestbedCluster) -> None:
    install_fake_gpu(testbed)
    node = testbed.spec.workers[0].name
    with scratch_namespace(kube.core, "dra-restart") as ns:
        create(kube, Claim("held").gpus(1).obj(), ns)
        create(kube, claim_pod("holder", "held", node), ns)
        wait_ready(kube.core, ns, ["holder"], timeout=timeouts.POD_READY)
        claim_uid = _claim_uid(kube, ns, "held")
        assert claim_uid in cdi_specs(node)

        new, seconds = restart_driver(kube, node)
        log = kube.core.read_namespaced_pod_log(new, NAMESPACE)
        assert f"restored prepared claim {ns}/held ({claim_uid})" in log, log
        print(f"driver restarted and re-registered in {seconds:.1f} s")

        kube.core.delete_namespaced_pod("holder", ns, grace_period_seconds=0)

        def unprepared() -> tuple[bool, str]:
            done = f"unprepared {ns}/held ({claim_uid})" in kube.core.read_namespaced_pod_log(new, NAMESPACE)
            return done and claim_uid not in cdi_specs(node), f"CDI specs on {node}: {cdi_specs(node).split()}"

        wait_until(unprepared, timeouts.REACTION, f"claim {ns}/held unprepared by the restarted driver")


def _claim_uid(kube: Clients, namespace: str, name: str) -> str:
    obj = client.CustomObjectsApi(kube.api).get_namespaced_custom_object(
        "resource.k8s.io", "v1", namespace, "resourceclaims", name
    )
    return str(obj["metadata"]["uid"])
