"""The driver's kubelet plugin over real unix sockets, driven by a real gRPC client as the kubelet
would: registration info, NodePrepareResources writing CDI specs with the LLMC_* environment, and
prepared claims surviving a restart through the checkpoint."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import pytest
from fake_gpu import DRIVER, kubelet, protos
from fake_gpu.inventory import from_spec

from harness.dra.install import kubelet_module

ROOT = Path(__file__).resolve().parents[2]
INV = from_spec(ROOT / "clusters" / "default.yaml", "llmc-worker3")  # rack-2
UID = "3f1c1a52-6a36-4a57-9f5e-0a7b7c1d2e3f"


@pytest.fixture(scope="module")
def pb(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModuleType, ModuleType]:
    return protos.load(protos.generate(kubelet_module(), tmp_path_factory.mktemp("protos")))


def claim(uid: str = UID, devices: tuple[str, ...] = ("gpu-2", "nic-1"), allocated: bool = True) -> dict[str, Any]:
    obj: dict[str, Any] = {"metadata": {"namespace": "ns", "name": "c", "uid": uid}, "status": {}}
    if allocated:
        results = [{"request": d.split("-")[0], "driver": DRIVER, "pool": INV.node, "device": d} for d in devices] + [
            {"request": "other", "driver": "other.example.com", "pool": "x", "device": "y"}
        ]
        obj["status"]["allocation"] = {"devices": {"results": results}}
    return obj


class Node:
    """A plugin on a node: sockets and CDI dir under tmp, the API server replaced by a claim table."""

    def __init__(self, root: Path, pb: tuple[ModuleType, ModuleType]) -> None:
        self.paths = kubelet.Paths(root / "kubelet", root / "cdi")
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
        self.servers = kubelet.start(self.paths, INV, self.read_claim, *self.pb)

    def stop(self) -> None:
        kubelet.stop(self.servers, self.paths)

    def call(self, socket: Path, module: ModuleType, service: str, method: str, request: Any) -> Any:
        desc = module.DESCRIPTOR.services_by_name[service].methods_by_name[method]
        with grpc.insecure_channel(f"unix://{socket}") as channel:
            rpc = channel.unary_unary(
                f"/{desc.containing_service.full_name}/{method}",
                request_serializer=type(request).SerializeToString,
                response_deserializer=getattr(module, desc.output_type.name).FromString,
            )
            return rpc(request, timeout=5)

    def prepare(self, *uids: str) -> Any:
        dra = self.pb[0]
        request = dra.NodePrepareResourcesRequest(claims=[dra.Claim(namespace="ns", name="c", uid=u) for u in uids])
        return self.call(self.paths.dra_socket, dra, "DRAPlugin", "NodePrepareResources", request)

    def unprepare(self, uid: str) -> Any:
        dra = self.pb[0]
        request = dra.NodeUnprepareResourcesRequest(claims=[dra.Claim(namespace="ns", name="c", uid=uid)])
        return self.call(self.paths.dra_socket, dra, "DRAPlugin", "NodeUnprepareResources", request)

    def cdi_env(self, uid: str) -> list[str]:
        spec = json.loads((self.paths.cdi_dir / f"{DRIVER}-{uid}.json").read_text())
        assert spec["kind"] == f"{DRIVER}/claim" and spec["devices"][0]["name"] == uid
        env: list[str] = spec["devices"][0]["containerEdits"]["env"]
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
    assert info.endpoint == str(node.paths.dra_socket)
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
        "LLMC_GPUS=gpu-2",
        "LLMC_GPU_NUMA=1",
        "LLMC_NICS=nic-1",
        "LLMC_NIC_NUMA=1",
        "LLMC_RACK=rack-2",
    ]


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
