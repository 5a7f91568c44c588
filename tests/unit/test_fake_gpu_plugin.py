"""The driver's kubelet plugin over real unix sockets, driven by a real gRPC client as the kubelet
would: registration info, NodePrepareResources writing CDI specs with the LLMC_* environment, device
nodes and state directories, prepared claims surviving a restart through the checkpoint, and the
nvidia personality's two plugins (GPUs as gpu.nvidia.com, NICs as ours)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import pytest
from fake_gpu import DRIVER, kubelet, protos, state
from fake_gpu.inventory import from_spec
from fake_gpu.personality import DEFAULT, NVIDIA, Personality
from fake_gpu.slices import gpu_uuid

from harness.dra.install import kubelet_module

ROOT = Path(__file__).resolve().parents[2]
INV = from_spec(ROOT / "clusters" / "default.yaml", "llmc-worker3")  # rack-2
UID = "3f1c1a52-6a36-4a57-9f5e-0a7b7c1d2e3f"


@pytest.fixture(scope="module")
def pb(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModuleType, ModuleType]:
    return protos.load(protos.generate(kubelet_module(), tmp_path_factory.mktemp("protos")))


def claim(
    uid: str = UID, devices: tuple[str, ...] = ("gpu-2", "nic-1"), allocated: bool = True, gpu_driver: str = DRIVER
) -> dict[str, Any]:
    obj: dict[str, Any] = {"metadata": {"namespace": "ns", "name": "c", "uid": uid}, "status": {}}
    if allocated:
        results = [
            {"request": d.split("-")[0], "driver": gpu_driver if d.startswith("gpu") else DRIVER, "pool": INV.node}
            | {"device": d}
            for d in devices
        ] + [{"request": "other", "driver": "other.example.com", "pool": "x", "device": "y"}]
        obj["status"]["allocation"] = {"devices": {"results": results}}
    return obj


class Node:
    """A plugin on a node: sockets and CDI dir under tmp, the API server replaced by a claim table."""

    def __init__(self, root: Path, pb: tuple[ModuleType, ModuleType], personality: Personality = DEFAULT) -> None:
        self.paths = kubelet.Paths(root / "kubelet", root / "cdi", state_root=root / "state")
        self.personality = personality
        self.pb = pb
        self.claims: dict[str, dict[str, Any]] = {}
        self.reads = 0
        self.servers: list[grpc.Server] = []

    def read_claim(self, namespace: str, name: str) -> dict[str, Any]:
        self.reads += 1
        if name not in self.claims:
            raise RuntimeError(f"resourceclaims {namespace}/{name} not found")
        return self.claims[name]

    def start(self) -> None:
        self.servers = kubelet.start(self.paths, INV, self.read_claim, *self.pb, self.personality)

    def stop(self) -> None:
        kubelet.stop(self.servers, self.paths, self.personality)

    def call(self, socket: Path, module: ModuleType, service: str, method: str, request: Any) -> Any:
        desc = module.DESCRIPTOR.services_by_name[service].methods_by_name[method]
        with grpc.insecure_channel(f"unix://{socket}") as channel:
            rpc = channel.unary_unary(
                f"/{desc.containing_service.full_name}/{method}",
                request_serializer=type(request).SerializeToString,
                response_deserializer=getattr(module, desc.output_type.name).FromString,
            )
            return rpc(request, timeout=5)

    def plugin(self, driver: str) -> kubelet.Paths:
        return next(p for p in kubelet.driver_paths(self.paths, self.personality) if p.driver == driver)

    def prepare(self, *uids: str, driver: str = DRIVER) -> Any:
        dra = self.pb[0]
        request = dra.NodePrepareResourcesRequest(claims=[dra.Claim(namespace="ns", name="c", uid=u) for u in uids])
        return self.call(self.plugin(driver).dra_socket, dra, "DRAPlugin", "NodePrepareResources", request)

    def unprepare(self, uid: str, driver: str = DRIVER) -> Any:
        dra = self.pb[0]
        request = dra.NodeUnprepareResourcesRequest(claims=[dra.Claim(namespace="ns", name="c", uid=uid)])
        return self.call(self.plugin(driver).dra_socket, dra, "DRAPlugin", "NodeUnprepareResources", request)

    def cdi_edits(self, uid: str, driver: str = DRIVER) -> dict[str, Any]:
        spec = json.loads((self.paths.cdi_dir / f"{driver}-{uid}.json").read_text())
        assert spec["kind"] == f"{driver}/claim" and spec["devices"][0]["name"] == uid
        edits: dict[str, Any] = spec["devices"][0]["containerEdits"]
        return edits

    def cdi_env(self, uid: str, driver: str = DRIVER) -> list[str]:
        env: list[str] = self.cdi_edits(uid, driver)["env"]
        return env


@pytest.fixture
def node(pb: tuple[ModuleType, ModuleType]) -> Iterator[Node]:
    # Not tmp_path: unix socket paths are limited to 107 characters.
    with tempfile.TemporaryDirectory(prefix="fg-") as root:
        n = Node(Path(root), pb)
        n.start()
        yield n
        n.stop()


def test_registration_names_the_dra_v1_endpoint(node: Node) -> None:
    reg = node.pb[1]
    info = node.call(node.paths.registration_socket, reg, "Registration", "GetInfo", reg.InfoRequest())
    assert (info.type, info.name) == ("DRAPlugin", DRIVER)
    assert info.endpoint == str(node.plugin(DRIVER).dra_socket)
    assert list(info.supported_versions) == ["v1.DRAPlugin"]
    status = reg.RegistrationStatus(plugin_registered=True)
    node.call(node.paths.registration_socket, reg, "Registration", "NotifyRegistrationStatus", status)


def test_prepare_writes_the_claims_environment(node: Node) -> None:
    node.claims["c"] = claim()
    result = node.prepare(UID).claims[UID]
    assert result.error == ""
    assert [(d.pool_name, d.device_name, list(d.request_names)) for d in result.devices] == [
        (INV.node, "gpu-2", ["gpu"]),
        (INV.node, "nic-1", ["nic"]),
    ]
    assert list(result.devices[0].cdi_device_ids) == [f"{DRIVER}/claim={UID}"]
    assert node.cdi_env(UID) == [
        f"LLMC_ACCELERATOR_STATE={state.CONTAINER_DIR}",
        "LLMC_GPUS=gpu-2",
        "LLMC_GPU_NUMA=1",
        "LLMC_NICS=nic-1",
        "LLMC_NIC_NUMA=1",
        "LLMC_RACK=rack-2",
    ]


def test_prepare_injects_a_harmless_device_node_and_the_state_directory_per_gpu(node: Node) -> None:
    node.claims["c"] = claim()
    node.prepare(UID)
    edits = node.cdi_edits(UID)
    # /dev/null's numbers: no access a container did not have; the NIC gets no node.
    assert edits["deviceNodes"] == [
        {"path": "/dev/llmc-gpu2", "type": "c", "major": 1, "minor": 3, "permissions": "rw"}
    ]
    [mount] = edits["mounts"]
    assert mount["hostPath"] == str(node.paths.state_root / "gpu-2")
    assert mount["containerPath"] == f"{state.CONTAINER_DIR}/gpu-2" and "rbind" in mount["options"]
    assert (node.paths.state_root / "gpu-2").stat().st_mode & 0o777 == 0o777  # the holder's user writes it


def test_a_new_holder_starts_idle_and_unprepare_clears_the_state(node: Node) -> None:
    folder = node.paths.state_root / "gpu-2"
    folder.mkdir(parents=True)
    (folder / state.FILE).write_text(json.dumps({"busy": 1, "memory_used_bytes": 5, "updated": 1e12}))
    node.claims["c"] = claim()
    node.prepare(UID)
    assert not (folder / state.FILE).exists()
    (folder / state.FILE).write_text(json.dumps({"busy": 1, "memory_used_bytes": 5, "updated": 1e12}))
    node.unprepare(UID)
    assert not (folder / state.FILE).exists()


@pytest.fixture
def nvidia_node(pb: tuple[ModuleType, ModuleType]) -> Iterator[Node]:
    with tempfile.TemporaryDirectory(prefix="fg-") as root:
        n = Node(Path(root), pb, NVIDIA)
        n.start()
        yield n
        n.stop()


def test_nvidia_personality_registers_two_drivers(nvidia_node: Node) -> None:
    reg = nvidia_node.pb[1]
    names = []
    for driver in ("gpu.nvidia.com", DRIVER):
        paths = nvidia_node.plugin(driver)
        info = nvidia_node.call(paths.registration_socket, reg, "Registration", "GetInfo", reg.InfoRequest())
        names.append(info.name)
        assert info.endpoint == str(nvidia_node.paths.kubelet_dir / "plugins" / driver / "dra.sock")
    assert names == ["gpu.nvidia.com", DRIVER]


def test_nvidia_personality_injects_dev_nvidia_and_visible_devices(nvidia_node: Node) -> None:
    nvidia_node.claims["c"] = claim(gpu_driver="gpu.nvidia.com")
    gpu = nvidia_node.prepare(UID, driver="gpu.nvidia.com").claims[UID]
    nic = nvidia_node.prepare(UID, driver=DRIVER).claims[UID]
    assert [d.device_name for d in gpu.devices] == ["gpu-2"] and [d.device_name for d in nic.devices] == ["nic-1"]
    edits = nvidia_node.cdi_edits(UID, "gpu.nvidia.com")
    assert [n["path"] for n in edits["deviceNodes"]] == ["/dev/nvidia2"]
    assert f"NVIDIA_VISIBLE_DEVICES={gpu_uuid(INV, INV.gpus[2])}" in edits["env"]
    # The NIC's own spec: its variables, no device node, no GPU variables.
    nic_edits = nvidia_node.cdi_edits(UID, DRIVER)
    assert "deviceNodes" not in nic_edits and "LLMC_NICS=nic-1" in nic_edits["env"]
    assert not any(e.startswith(("NVIDIA_VISIBLE_DEVICES", "LLMC_GPUS")) for e in nic_edits["env"])


def test_prepare_is_idempotent(node: Node) -> None:
    node.claims["c"] = claim(devices=("gpu-0", "gpu-1"))
    first = node.prepare(UID).claims[UID]
    again = node.prepare(UID).claims[UID]
    assert first == again and node.reads == 1
    assert "LLMC_NICS=" not in " ".join(node.cdi_env(UID))


def test_prepared_claims_survive_a_restart(node: Node) -> None:
    node.claims["c"] = claim()
    before = node.prepare(UID).claims[UID]
    node.stop()
    node.claims.clear()  # the API server is away: only the checkpoint can answer
    (node.paths.cdi_dir / f"{DRIVER}-{UID}.json").unlink()
    node.start()
    assert node.prepare(UID).claims[UID] == before
    assert "LLMC_GPUS=gpu-2" in node.cdi_env(UID)
    assert node.unprepare(UID).claims[UID].error == ""
    assert not (node.paths.cdi_dir / f"{DRIVER}-{UID}.json").exists()
    assert json.loads(node.paths.checkpoint.read_text())["claims"] == {}


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        (claim(allocated=False), "status.allocation is missing"),
        (claim(uid="other-uid"), "metadata.uid is other-uid"),
        (claim(devices=("gpu-9",)), "gpu-9 is not in llmc-worker3's inventory"),
        (None, "resourceclaims ns/c not found"),
    ],
)
def test_prepare_errors_are_reported_per_claim(node: Node, stored: dict[str, Any] | None, message: str) -> None:
    if stored is not None:
        node.claims["c"] = stored
    result = node.prepare(UID).claims[UID]
    assert message in result.error and not result.devices
    assert not (node.paths.cdi_dir / f"{DRIVER}-{UID}.json").exists()
