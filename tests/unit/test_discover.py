"""Discovery on plain objects: topology from node labels and any DRA driver's slices, components
from their controllers' images, and the disruption gate's decision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fake_gpu import inventory, slices

from harness.cluster.discover import CONTROL_PLANE_LABEL, Snapshot, analyse, devices, profile
from harness.cluster.existing import ClusterRef, _same_image, disruption_refusal
from harness.spec import load_spec
from harness.spec.model import PROFILE_LABEL, RACK_LABEL, PCIeSwitch, PortMapping

ROOT = Path(__file__).resolve().parents[2]
SPEC = load_spec(ROOT / "clusters" / "default.yaml")


def node(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels}, "spec": {"providerID": f"kind://docker/c/{name}"}}


def workload(kind: str, namespace: str, name: str, image: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "metadata": {"namespace": namespace, "name": name},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": image}]}}},
    }


def snap(nodes: list[dict[str, Any]], resource_slices: list[dict[str, Any]], **kw: Any) -> Snapshot:
    return Snapshot(
        version="v1.37.2",
        nodes=nodes,
        slices=resource_slices,
        crds=kw.get("crds", set()),
        workloads=kw.get("workloads", []),
        services=kw.get("services", set()),
    )


def gpu_slice(driver: str, node_name: str, devs: list[dict[str, Any]], generation: int = 1) -> dict[str, Any]:
    return {
        "spec": {
            "driver": driver,
            "nodeName": node_name,
            "pool": {"name": node_name, "generation": generation},
            "devices": devs,
        }
    }


def test_our_drivers_slices_give_back_the_spec_topology() -> None:
    """The fake GPU driver publishes what the spec says; discovery must read the same spec back."""
    nodes = [
        node(n.name, {**n.all_labels(), **({CONTROL_PLANE_LABEL: ""} if n.role == "control-plane" else {})})
        for n in SPEC.nodes
    ]
    published = [s for n in SPEC.workers for s in slices.resource_slices(inventory.from_spec_node(n))]
    found = analyse(snap(nodes, published), "llmc", "context kind-llmc", (PortMapping(30080, 30120),))
    assert found.spec.profiles == SPEC.profiles
    assert [(n.name, n.role, n.zone, n.rack, n.hardware) for n in found.spec.nodes] == [
        (n.name, n.role, n.zone, n.rack, n.hardware) for n in SPEC.nodes
    ]
    assert [n.all_labels() for n in found.spec.nodes] == [n.all_labels() for n in SPEC.nodes]
    assert found.spec.ports == (PortMapping(30080, 30120),)
    driver = found.drivers[slices.DRIVER]
    assert "4 nodes" in driver.evidence and "NUMA attribute on 24/24" in driver.evidence


def test_another_vendors_gpus_and_nics_are_placed_by_standard_attributes() -> None:
    """A GPU driver with a type attribute and pcieRoot but no NUMA, and a DraNet-like NIC driver
    with attributes in its own domain, on the same PCIe root: one switch with 2 GPUs and 1 NIC."""
    gpus = [
        {
            "name": f"gpu-{i}",
            "attributes": {
                "type": {"string": "gpu"},
                "productName": {"string": "H100"},
                "resource.kubernetes.io/pcieRoot": {"string": "pci0000:10"},
            },
            "capacity": {"memory": {"value": "80Gi"}},
        }
        for i in (1, 0)
    ]
    mig = {"name": "gpu-0-mig-1g", "attributes": {"type": {"string": "mig"}}}
    nic = {
        "name": "eth1",
        "attributes": {
            "dra.net/numaNode": {"int": 0},
            "dra.net/rdma": {"bool": True},
            "resource.kubernetes.io/pcieRoot": {"string": "pci0000:10"},
        },
    }
    published = [gpu_slice("gpu.example.com", "w1", [*gpus, mig]), gpu_slice("dra.net", "w1", [nic])]
    found = analyse(snap([node("w1", {})], published), "c", "ctx")
    (w1,) = found.spec.workers
    assert w1.hardware is not None
    assert w1.hardware.numa_nodes == ((PCIeSwitch(gpus=2, nics=1),),)
    assert (w1.hardware.gpu_model, w1.hardware.gpu_memory, w1.hardware.nic_rdma) == ("H100", "80Gi", True)
    assert w1.hardware.name.startswith("discovered-")
    assert w1.all_labels() == {}  # nothing the harness would have set is expected of the node
    kinds = {d.name: d.kind for d in found.devices}
    assert kinds == {"gpu-1": "gpu", "gpu-0": "gpu", "gpu-0-mig-1g": "other", "eth1": "nic"}


def test_only_the_newest_pool_generation_counts() -> None:
    old = gpu_slice("gpu.example.com", "w1", [{"name": "gpu-9", "attributes": {}}], generation=1)
    new = gpu_slice("gpu.example.com", "w1", [{"name": "gpu-0", "attributes": {}}], generation=2)
    assert [d.name for d in devices([old, new])] == ["gpu-0"]


def test_nvlink_cliques_use_the_inventory_numbering() -> None:
    devs = devices(
        [
            gpu_slice(
                "gpu.example.com",
                "w1",
                [
                    {
                        "name": f"gpu-{i}",
                        "attributes": {"numaNode": {"int": i // 2}, "cliqueId": {"string": f"c{i % 2}"}},
                    }
                    for i in range(4)
                ],
            )
        ]
    )
    hw = profile(devs, "p")
    assert hw is not None and hw.nvlink_cliques == ((0, 2), (1, 3))
    assert profile([], "p") is None


def test_profile_label_names_the_profile_and_rack_comes_from_the_harness_label() -> None:
    labels = {PROFILE_LABEL: "big", RACK_LABEL: "r7"}
    published = [gpu_slice("gpu.example.com", "w1", [{"name": "gpu-0", "attributes": {}}])]
    (w1,) = analyse(snap([node("w1", labels)], published), "c", "ctx").spec.workers
    assert (w1.rack, w1.hardware and w1.hardware.name, w1.all_labels()) == ("r7", "big", labels)


def test_components_from_controller_images_and_crds() -> None:
    found = analyse(
        snap(
            [],
            [],
            crds={"leaderworkersets.leaderworkerset.x-k8s.io", "scaledobjects.keda.sh"},
            workloads=[
                workload("Deployment", "lws-system", "lws-controller-manager", "registry.k8s.io/lws/lws:v0.9.0"),
                workload(
                    "Deployment", "kueue-system", "kueue-controller-manager", "registry.k8s.io/kueue/kueue:v0.19.2"
                ),
                workload("Deployment", "keda", "keda-operator", "ghcr.io/kedacore/keda:2.20.2@sha256:abc"),
                workload(
                    "Deployment", "keda", "keda-metrics-apiserver", "ghcr.io/kedacore/keda-metrics-apiserver:2.20.2"
                ),
                workload("StatefulSet", "obs", "prometheus-main", "quay.io/prometheus/prometheus:v3.1.0"),
            ],
        ),
        "c",
        "ctx",
    ).components
    assert {n: (c.version, c.usable) for n, c in found.items()} == {
        "lws": ("v0.9.0", True),
        "kueue": ("v0.19.2", False),  # its CRDs are not there: a controller alone is not usable
        "keda": ("v2.20.2", True),
        "prometheus": ("v3.1.0", False),  # not at the Service the suites query
    }
    assert "CRD clusterqueues.kueue.x-k8s.io missing" in found["kueue"].evidence
    assert found["keda"].namespace == "keda"


def test_driver_image_is_guessed_from_a_daemonset_named_like_the_driver() -> None:
    published = [gpu_slice("gpu.nvidia.com", "w1", [{"name": "gpu-0", "attributes": {"type": {"string": "gpu"}}}])]
    ds = workload("DaemonSet", "nvidia-dra-driver-gpu", "kubelet-plugin", "nvcr.io/nvidia/k8s-dra-driver-gpu:v25.8.0")
    found = analyse(snap([node("w1", {})], published, workloads=[ds]), "c", "ctx").drivers
    assert found["gpu.nvidia.com"].version == "v25.8.0"
    assert "NUMA attribute on 0/1" in found["gpu.nvidia.com"].evidence


def test_disruption_needs_the_exact_context() -> None:
    ref = ClusterRef(None, "prod-east")
    assert disruption_refusal(ref, "prod-east") is None
    refused = disruption_refusal(ref, None)
    assert refused and "--llmc-allow-disruption=prod-east" in refused and refused.startswith("disruptive:")
    other = disruption_refusal(ref, "staging")
    assert other and "--llmc-allow-disruption=staging does not name" in other


def test_image_names_compare_as_the_nodes_report_them() -> None:
    assert _same_image("busybox:1.37.0", "docker.io/library/busybox:1.37.0")
    assert _same_image("kindest/node:v1", "docker.io/kindest/node:v1")
    assert not _same_image("registry.k8s.io/lws/lws:v0.9.0", "registry.k8s.io/lws/lws:v0.8.0")
