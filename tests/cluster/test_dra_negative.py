"""Negative controls for the DRA checks (suites/test_dra.py): each check, run on the suite's claim
without the constraint it checks (harness/scenarios/dra.py), or on a satisfiable claim, fails. And
the driver's privileges are as narrow as claimed: it cannot publish another node's devices, nor
create DeviceClasses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client

from harness import timeouts
from harness.checks import CheckFailed
from harness.checks.dra import check_aligned, check_env_matches, check_stays_pending, placement_env
from harness.cluster.testbed import TestbedCluster
from harness.dra import DriverFigures, install_fake_gpu
from harness.dra.claims import NUMA, NVLINK_CLIQUE, PCIE_ROOT, Claim, claim_pod
from harness.dra.install import NAMESPACE
from harness.kube.client import Clients
from harness.kube.labels import HOSTNAME_LABEL
from harness.kube.namespaces import scratch_namespace
from harness.kube.objects import create
from harness.kube.pods import wait_ready
from harness.kube.waits import wait_until
from harness.scenarios.dra import numa_claim, nvlink_claim, pcie_claim, release, submit
from harness.topology.allocations import wait_allocated

pytestmark = pytest.mark.dra
DRIVER_ACCOUNT = f"system:serviceaccount:{NAMESPACE}:fake-gpu"


@pytest.fixture(scope="module")
def driver(testbed: TestbedCluster) -> DriverFigures:
    return install_fake_gpu(testbed)


@pytest.fixture(scope="module")
def namespace(kube: Clients, driver: DriverFigures) -> Iterator[str]:
    with scratch_namespace(kube.core, "dra-neg") as ns:
        yield ns


def test_numa_check_fails_without_the_constraint(kube: Clients, testbed: TestbedCluster, namespace: str) -> None:
    claim, pod = submit(kube, namespace, numa_claim(constrained=False), testbed.spec.workers[0].name)
    devices, _ = wait_allocated(kube, namespace, claim, pod)
    with pytest.raises(CheckFailed, match="not aligned"):
        check_aligned(devices, NUMA)
    release(kube, namespace, claim, pod)


def test_pcie_check_fails_without_the_constraint(kube: Clients, testbed: TestbedCluster, namespace: str) -> None:
    claim, pod = submit(kube, namespace, pcie_claim(constrained=False), testbed.spec.workers[-1].name)
    devices, _ = wait_allocated(kube, namespace, claim, pod)
    with pytest.raises(CheckFailed, match="not aligned"):
        check_aligned(devices, PCIE_ROOT)
    release(kube, namespace, claim, pod)


def test_nvlink_check_fails_without_the_constraint(kube: Clients, testbed: TestbedCluster, namespace: str) -> None:
    worker = testbed.spec.workers[0]
    assert worker.hardware is not None
    claim, pod = submit(kube, namespace, nvlink_claim(worker.hardware, constrained=False), worker.name)
    devices, _ = wait_allocated(kube, namespace, claim, pod)
    with pytest.raises(CheckFailed, match="not aligned"):
        check_aligned(devices, NVLINK_CLIQUE)
    release(kube, namespace, claim, pod)  # the node's GPUs are needed by the tests after this one


def test_pending_check_fails_on_a_satisfiable_claim(kube: Clients, testbed: TestbedCluster, namespace: str) -> None:
    claim, pod = submit(kube, namespace, Claim("fits").gpus(2).match(NUMA), testbed.spec.workers[0].name)
    with pytest.raises(CheckFailed, match="was satisfied"):
        check_stays_pending(kube, namespace, claim, pod)


def test_env_check_fails_for_a_container_without_the_claim(
    kube: Clients, testbed: TestbedCluster, namespace: str
) -> None:
    # The pod holds the claim (so it is allocated and prepared) but its container does not list it:
    # the runtime injects nothing into that container.
    node = testbed.spec.workers[0]
    create(kube, Claim("unused").gpus(1).obj(), namespace)
    pod = claim_pod("unused-pod", "unused", node.name)
    del pod["spec"]["containers"][0]["resources"]["claims"]
    create(kube, pod, namespace)
    devices, _ = wait_allocated(kube, namespace, "unused", "unused-pod")
    wait_ready(kube.core, namespace, ["unused-pod"], timeout=timeouts.POD_READY)
    with pytest.raises(CheckFailed, match="does not match the allocation"):
        check_env_matches(devices, placement_env(kube, namespace, "unused-pod"), node.rack)


def test_driver_cannot_publish_another_nodes_slice(
    kube: Clients, testbed: TestbedCluster, driver: DriverFigures
) -> None:
    here, other = testbed.spec.workers[0].name, testbed.spec.workers[-1].name
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "impostor"},
        "spec": {
            "serviceAccountName": "fake-gpu",
            "restartPolicy": "Never",
            "nodeSelector": {HOSTNAME_LABEL: here},
            "containers": [
                {
                    "name": "driver",
                    "image": driver.image,
                    "args": ["publish", "--once", "--inventory", "/etc/fake-gpu/inventory.json", "--node", other],
                    "volumeMounts": [{"name": "inventory", "mountPath": "/etc/fake-gpu"}],
                }
            ],
            "volumes": [{"name": "inventory", "configMap": {"name": "fake-gpu-inventory"}}],
        },
    }
    create(kube, pod, NAMESPACE)
    try:

        def finished() -> tuple[bool, str]:
            phase = kube.core.read_namespaced_pod("impostor", NAMESPACE).status.phase
            return phase in ("Succeeded", "Failed"), f"phase {phase}"

        wait_until(finished, timeouts.POD_READY, "impostor pod finished")
        log = kube.core.read_namespaced_pod_log("impostor", NAMESPACE)
        assert kube.core.read_namespaced_pod("impostor", NAMESPACE).status.phase == "Failed", log
        assert f"on node '{here}' may not change ResourceSlices of node '{other}'" in log, log
    finally:
        kube.core.delete_namespaced_pod("impostor", NAMESPACE, grace_period_seconds=0)


@pytest.mark.parametrize(
    ("verb", "group", "resource", "allowed"),
    [
        ("patch", "resource.k8s.io", "resourceslices", True),
        ("create", "resource.k8s.io", "deviceclasses", False),
        ("get", "resource.k8s.io", "resourceclaims", True),
        ("update", "resource.k8s.io", "resourceclaims", False),
        ("list", "", "secrets", False),
        ("patch", "", "nodes", False),
    ],
)
def test_driver_rbac_is_least_privilege(kube: Clients, verb: str, group: str, resource: str, allowed: bool) -> None:
    review = client.AuthorizationV1Api(kube.api).create_subject_access_review(
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": DRIVER_ACCOUNT,
                "groups": ["system:serviceaccounts", f"system:serviceaccounts:{NAMESPACE}"],
                "resourceAttributes": {"verb": verb, "group": group, "resource": resource},
            },
        }
    )
    assert review.status.allowed is allowed, f"{DRIVER_ACCOUNT} {verb} {resource}: {review.status}"
