"""The nvidia personality's devices and DeviceClasses, the GPUs' state files, the device nodes on the
node, and the per-GPU metrics in DCGM's names."""

from __future__ import annotations

import json
import os
import stat
import tempfile
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fake_gpu import DRIVER, cli, devnodes, kubelet, metrics, podresources, protos, state
from fake_gpu.inventory import from_spec
from fake_gpu.personality import DEFAULT, NVIDIA, PERSONALITIES, by_name
from fake_gpu.slices import device_classes, gpu_uuid, resource_slices

from harness.dra.install import kubelet_module

ROOT = Path(__file__).resolve().parents[2]
INV = from_spec(ROOT / "clusters" / "default.yaml", "llmc-worker")
NVIDIA_GPU_ATTRIBUTES = {
    "type", "uuid", "minor", "index", "productName", "brand", "architecture", "cudaComputeCapability",
    "driverVersion", "cudaDriverVersion", "pcieBusID", "resource.kubernetes.io/pcieRoot",
}  # fmt: skip


def pools(personality: Any) -> dict[str, dict[str, dict[str, Any]]]:
    return {
        s["spec"]["driver"]: {d["name"]: d for d in s["spec"]["devices"]} for s in resource_slices(INV, personality)
    }


def test_nvidia_gpus_are_shaped_as_nvidias_driver_publishes_them() -> None:
    by_driver = pools(NVIDIA)
    assert sorted(by_driver) == ["gpu.llm-conformance.io", "gpu.nvidia.com"]
    gpus = by_driver["gpu.nvidia.com"]
    assert sorted(gpus) == ["gpu-0", "gpu-1", "gpu-2", "gpu-3"]
    gpu = gpus["gpu-2"]
    assert set(gpu["attributes"]) == NVIDIA_GPU_ATTRIBUTES  # no NUMA node, no NVLink clique: NVIDIA has none
    assert gpu["attributes"]["uuid"] == {"string": gpu_uuid(INV, INV.gpus[2])}
    assert gpu["attributes"]["minor"] == gpu["attributes"]["index"] == {"int": 2}
    assert gpu["attributes"]["driverVersion"] == {"version": "570.124.6"}  # a semantic version, as NVIDIA's
    assert gpu["capacity"] == {"memory": {"value": "80Gi"}}
    assert len({g["attributes"]["pcieBusID"]["string"] for g in gpus.values()}) == 4


def test_nvidia_nics_stay_ours_with_the_same_pcie_roots() -> None:
    by_driver = pools(NVIDIA)
    nics = by_driver[DRIVER]
    assert sorted(nics) == ["nic-0", "nic-1"]
    assert nics == {k: v for k, v in pools(DEFAULT)[DRIVER].items() if k.startswith("nic")}
    root = "resource.kubernetes.io/pcieRoot"
    # GPU 0 and NIC 0 share a PCIe switch on NUMA 0: one matchAttribute on pcieRoot spans both drivers.
    assert by_driver["gpu.nvidia.com"]["gpu-0"]["attributes"][root] == nics["nic-0"]["attributes"][root]


def test_default_personality_is_unchanged_one_pool() -> None:
    [obj] = resource_slices(INV)
    assert obj["spec"]["driver"] == DRIVER and len(obj["spec"]["devices"]) == 6


def test_device_classes_per_personality() -> None:
    nvidia = {c["metadata"]["name"]: c["spec"]["selectors"][0]["cel"]["expression"] for c in device_classes(NVIDIA)}
    assert nvidia["gpu.nvidia.com"] == (
        'device.driver == "gpu.nvidia.com" && device.attributes["gpu.nvidia.com"].type == "gpu"'
    )
    assert "nic.llm-conformance.io" in nvidia
    assert {c["metadata"]["name"] for c in device_classes(DEFAULT)} == {DEFAULT.gpu_class, DEFAULT.nic_class}


def test_personality_description_for_the_harness() -> None:
    assert set(PERSONALITIES) == {"default", "nvidia"}
    assert NVIDIA.drivers == ("gpu.nvidia.com", DRIVER) and DEFAULT.drivers == (DRIVER,)
    assert (NVIDIA.gpu_class, NVIDIA.index_attribute, NVIDIA.numa_attribute) == (
        "gpu.nvidia.com",
        "gpu.nvidia.com/index",
        None,
    )
    assert NVIDIA.device_node_glob == "/dev/nvidia[0-9]*" and NVIDIA.device_node(3) == "/dev/nvidia3"
    with pytest.raises(ValueError, match="expected one of default, nvidia"):
        by_name("amd")


def test_cli_personality_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FAKE_GPU_PERSONALITY", "nvidia")
    assert cli.main(["device-classes"]) == 0
    names = {c["metadata"]["name"] for c in json.loads(capsys.readouterr().out)["items"]}
    assert "gpu.nvidia.com" in names
    assert cli.main(["device-classes", "--personality", "default"]) == 0
    assert "gpu.nvidia.com" not in capsys.readouterr().out


def test_state_reads_what_the_holder_wrote_and_idle_otherwise(tmp_path: Path) -> None:
    state.reset(tmp_path, "gpu-0")
    assert state.read(tmp_path, "gpu-0") == state.DeviceState()
    raw = {"busy": 1.7, "memory_used_bytes": 3 * 2**30, "updated": 1000.0}
    (tmp_path / "gpu-0" / state.FILE).write_text(json.dumps(raw))
    assert state.read(tmp_path, "gpu-0", now=1005) == state.DeviceState(1.0, 3 * 2**30)  # clamped
    assert state.read(tmp_path, "gpu-0", now=1000 + state.STALE + 1) == state.DeviceState()  # stopped reporting
    (tmp_path / "gpu-0" / state.FILE).write_text("{half")
    assert state.read(tmp_path, "gpu-0") == state.DeviceState()


def test_metrics_render_dcgm_names_and_labels() -> None:
    holder = podresources.Holder("engine-abc", "ns", "mock-vllm")
    samples = [
        metrics.Sample(INV.gpus[0], state.DeviceState(0.42, 3 * 2**30), holder),
        metrics.Sample(INV.gpus[1], state.DeviceState(), None),
    ]
    text = metrics.render(INV, samples, NVIDIA)
    uuid = gpu_uuid(INV, INV.gpus[0])
    held = (
        f'gpu="0",UUID="{uuid}",pci_bus_id="0000:18:00.0",device="nvidia0",modelName="FAKE-H100-80GB",'
        'Hostname="llmc-worker",container="mock-vllm",namespace="ns",pod="engine-abc"'
    )
    assert f"DCGM_FI_DEV_GPU_UTIL{{{held}}} 42" in text.splitlines()
    assert f"DCGM_FI_DEV_FB_USED{{{held}}} 3072" in text.splitlines()
    assert f"DCGM_FI_DEV_FB_FREE{{{held}}} {80 * 1024 - 3072}" in text.splitlines()
    idle = [line for line in text.splitlines() if 'gpu="1"' in line]
    assert len(idle) == 3 and not any("pod=" in line for line in idle)
    assert "# TYPE DCGM_FI_DEV_GPU_UTIL gauge" in text
    assert 'device="llmc-gpu0"' in metrics.render(INV, samples[:1])


def test_metrics_collect_without_the_kubelet_still_reports(tmp_path: Path) -> None:
    def away() -> dict[str, podresources.Holder]:
        raise OSError("kubelet restarting")

    samples = metrics.collect(INV, away, tmp_path)
    assert [s.holder for s in samples] == [None] * 4


def test_holders_from_pod_resources() -> None:
    def ns(**kw: Any) -> SimpleNamespace:
        return SimpleNamespace(**kw)

    device = ns(driver_name="gpu.nvidia.com", pool_name="w", device_name="gpu-1", cdi_devices=[])
    other = ns(driver_name="other.example.com", pool_name="w", device_name="gpu-0", cdi_devices=[])
    response = ns(
        pod_resources=[
            ns(
                name="engine",
                namespace="ns",
                containers=[
                    ns(name="sidecar", dynamic_resources=[]),
                    ns(
                        name="main",
                        dynamic_resources=[ns(claim_name="c", claim_namespace="ns", claim_resources=[device, other])],
                    ),
                ],
            )
        ]
    )
    assert podresources.holders_from(response, {"gpu.nvidia.com"}) == {
        "gpu-1": podresources.Holder("engine", "ns", "main")
    }


def test_quantities() -> None:
    assert metrics.quantity_bytes("80Gi") == 80 * 2**30 and metrics.quantity_bytes("48G") == 48 * 10**9
    with pytest.raises(ValueError, match="whole number"):
        metrics.quantity_bytes("1.5Gi")


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod of a character device needs root (CAP_MKNOD)")
def test_device_nodes_on_the_node(tmp_path: Path) -> None:
    made = devnodes.ensure(tmp_path, INV, NVIDIA)
    assert [p.name for p in made] == ["nvidia0", "nvidia1", "nvidia2", "nvidia3"]
    st = made[0].stat()
    assert stat.S_ISCHR(st.st_mode) and (os.major(st.st_rdev), os.minor(st.st_rdev)) == (1, 3)
    assert st.st_mode & 0o777 == 0o666
    assert devnodes.ensure(tmp_path, INV, NVIDIA) == made  # again: kept


def test_device_nodes_refuse_to_replace_something_else(tmp_path: Path) -> None:
    (tmp_path / "llmc-gpu0").write_text("not a device")
    with pytest.raises(RuntimeError, match="llmc-gpu0 exists and is not the character device 1:3"):
        devnodes.ensure(tmp_path, INV, DEFAULT)


class Lister:
    """The kubelet's pod resources service, answering List with one engine holding gpu-1."""

    def __init__(self, pb: Any) -> None:
        self.pb = pb

    def List(self, request: Any, context: Any) -> Any:
        pb = self.pb
        device = pb.ClaimResource(driver_name="gpu.nvidia.com", pool_name=INV.node, device_name="gpu-1")
        claim = pb.DynamicResource(claim_name="c", claim_namespace="ns", claim_resources=[device])
        container = pb.ContainerResources(name="mock-vllm", dynamic_resources=[claim])
        return pb.ListPodResourcesResponse(
            pod_resources=[pb.PodResources(name="engine", namespace="ns", containers=[container])]
        )

    def GetAllocatableResources(self, request: Any, context: Any) -> Any:
        return self.pb.AllocatableResourcesResponse()

    def Get(self, request: Any, context: Any) -> Any:
        return self.pb.GetPodResourcesResponse()


def test_metrics_endpoint_names_the_holder_from_the_kubelet(tmp_path_factory: pytest.TempPathFactory) -> None:
    pb = protos.load_podresources(protos.generate(kubelet_module(), tmp_path_factory.mktemp("protos")))
    with tempfile.TemporaryDirectory(prefix="fg-") as root:  # unix socket paths are short
        socket = Path(root) / "kubelet.sock"
        server = kubelet.serve_unix(socket, [kubelet.handler(pb, "PodResourcesLister", Lister(pb))])
        state_root = Path(root) / "state"
        state.reset(state_root, "gpu-1")
        raw = {"busy": 0.5, "memory_used_bytes": 2**30, "updated": time.time()}
        (state_root / "gpu-1" / state.FILE).write_text(json.dumps(raw))
        exporter = metrics.serve(
            0, INV, lambda: podresources.holders(socket, pb, {"gpu.nvidia.com"}), state_root, NVIDIA
        )
        try:
            port = exporter.server_address[1]
            text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        finally:
            exporter.shutdown()
            server.stop(grace=1)
    [line] = [x for x in text.splitlines() if x.startswith("DCGM_FI_DEV_GPU_UTIL") and 'gpu="1"' in x]
    assert line.endswith(" 50") and 'container="mock-vllm",namespace="ns",pod="engine"' in line
