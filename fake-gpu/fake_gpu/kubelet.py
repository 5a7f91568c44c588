"""The kubelet plugin: registration over the kubelet's plugin-registration directory, and the DRA v1
gRPC service (NodePrepareResources / NodeUnprepareResources) on the driver's own socket.

The kubelet watches `<kubelet>/plugins_registry/` for sockets, calls Registration.GetInfo on each, and
then talks DRA to the endpoint it returns, choosing the newest service both sides support
("v1.DRAPlugin", pkg/kubelet/cm/dra/plugin in k8s.io/kubernetes).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc

from fake_gpu import DRIVER, cdi
from fake_gpu.checkpoint import Checkpoint
from fake_gpu.inventory import NodeInventory
from fake_gpu.prepare import PreparedClaim, prepare

log = logging.getLogger("fake_gpu.kubelet")
DRA_SERVICE_VERSION = "v1.DRAPlugin"  # k8s.io/kubelet/pkg/apis/dra/v1.DRAPluginService
PLUGIN_TYPE = "DRAPlugin"  # k8s.io/kubelet/pkg/apis/pluginregistration/v1.DRAPlugin

ReadClaim = Callable[[str, str], dict[str, Any]]  # (namespace, name) -> ResourceClaim


@dataclass(frozen=True)
class Paths:
    kubelet_dir: Path  # /var/lib/kubelet on the host
    cdi_dir: Path  # /var/run/cdi on the host

    @property
    def plugin_dir(self) -> Path:
        return self.kubelet_dir / "plugins" / DRIVER

    @property
    def dra_socket(self) -> Path:
        return self.plugin_dir / "dra.sock"

    @property
    def registration_socket(self) -> Path:
        return self.kubelet_dir / "plugins_registry" / f"{DRIVER}-reg.sock"

    @property
    def checkpoint(self) -> Path:
        return self.plugin_dir / "checkpoint.json"


class DRAPlugin:
    """NodePrepareResources / NodeUnprepareResources for this node's fake devices."""

    def __init__(self, inv: NodeInventory, read_claim: ReadClaim, checkpoint: Checkpoint, cdi_dir: Path, pb: Any):
        self.inv, self.read_claim, self.checkpoint, self.cdi_dir, self.pb = inv, read_claim, checkpoint, cdi_dir, pb

    def _response(self, claim: PreparedClaim) -> Any:
        cdi_id = cdi.write_spec(self.cdi_dir, claim)
        # The claim's one CDI device goes with its first device (see fake_gpu.cdi for why one).
        devices = [
            self.pb.Device(
                request_names=[d.request],
                pool_name=d.pool,
                device_name=d.device,
                cdi_device_ids=[cdi_id] if i == 0 else [],
            )
            for i, d in enumerate(claim.devices)
        ]
        return self.pb.NodePrepareResourceResponse(devices=devices)

    def prepare_one(self, namespace: str, name: str, uid: str) -> Any:
        done = self.checkpoint.get(uid)
        if done is None:
            done = prepare(self.inv, self.read_claim(namespace, name), uid)
            self.checkpoint.add(done)
            log.info("prepared %s/%s (%s): %s", namespace, name, uid, done.env)
        return self._response(done)

    def NodePrepareResources(self, request: Any, context: grpc.ServicerContext) -> Any:
        claims = {}
        for c in request.claims:
            try:
                claims[c.uid] = self.prepare_one(c.namespace, c.name, c.uid)
            except Exception as e:  # reported per claim: the kubelet retries that claim only
                log.warning("preparing %s/%s (%s) failed: %s", c.namespace, c.name, c.uid, e)
                claims[c.uid] = self.pb.NodePrepareResourceResponse(error=str(e))
        return self.pb.NodePrepareResourcesResponse(claims=claims)

    def NodeUnprepareResources(self, request: Any, context: grpc.ServicerContext) -> Any:
        claims = {}
        for c in request.claims:
            try:
                cdi.remove_spec(self.cdi_dir, c.uid)
                self.checkpoint.remove(c.uid)
                log.info("unprepared %s/%s (%s)", c.namespace, c.name, c.uid)
                claims[c.uid] = self.pb.NodeUnprepareResourceResponse()
            except Exception as e:
                claims[c.uid] = self.pb.NodeUnprepareResourceResponse(error=str(e))
        return self.pb.NodeUnprepareResourcesResponse(claims=claims)


class Registration:
    def __init__(self, paths: Paths, pb: Any) -> None:
        self.paths, self.pb = paths, pb

    def GetInfo(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.pb.PluginInfo(
            type=PLUGIN_TYPE,
            name=DRIVER,
            endpoint=str(self.paths.dra_socket),
            supported_versions=[DRA_SERVICE_VERSION],
        )

    def NotifyRegistrationStatus(self, request: Any, context: grpc.ServicerContext) -> Any:
        if request.plugin_registered:
            log.info("registered with the kubelet")
        else:
            log.error("the kubelet refused the registration: %s", request.error)
        return self.pb.RegistrationStatusResponse()


def handler(module: ModuleType, service: str, impl: object) -> grpc.GenericRpcHandler:
    """A gRPC service from its descriptor and an object with one method per RPC."""
    desc = module.DESCRIPTOR.services_by_name[service]
    methods = {
        m.name: grpc.unary_unary_rpc_method_handler(
            getattr(impl, m.name),
            request_deserializer=getattr(module, m.input_type.name).FromString,
            response_serializer=getattr(module, m.output_type.name).SerializeToString,
        )
        for m in desc.methods
    }
    return grpc.method_handlers_generic_handler(desc.full_name, methods)


def serve_unix(socket: Path, handlers: list[grpc.GenericRpcHandler]) -> grpc.Server:
    if len(str(socket)) > 107:  # sockaddr_un's limit; gRPC's own error does not name the path
        raise ValueError(f"{socket}: a unix socket path is at most 107 characters")
    socket.parent.mkdir(parents=True, exist_ok=True)
    socket.unlink(missing_ok=True)  # a stale socket from the previous run
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers(handlers)
    server.add_insecure_port(f"unix://{socket}")
    server.start()
    return server


def start(
    paths: Paths, inv: NodeInventory, read_claim: ReadClaim, dra_pb: ModuleType, reg_pb: ModuleType
) -> list[grpc.Server]:
    """DRA service first, then the registration socket (the kubelet dials the DRA one once it sees it)."""
    checkpoint = Checkpoint(paths.checkpoint)
    for claim in checkpoint.claims():  # a restart keeps what running pods hold
        log.info("restored prepared claim %s/%s (%s)", claim.namespace, claim.name, claim.uid)
    plugin = DRAPlugin(inv, read_claim, checkpoint, paths.cdi_dir, dra_pb)
    dra = serve_unix(paths.dra_socket, [handler(dra_pb, "DRAPlugin", plugin)])
    registration = serve_unix(paths.registration_socket, [handler(reg_pb, "Registration", Registration(paths, reg_pb))])
    log.info("serving DRA on %s, registration on %s", paths.dra_socket, paths.registration_socket)
    return [registration, dra]


def stop(servers: list[grpc.Server], paths: Paths) -> None:
    for server in servers:
        server.stop(grace=2).wait()
    paths.registration_socket.unlink(missing_ok=True)  # the kubelet deregisters the plugin
