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
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc

from fake_gpu import DRIVER, cdi, state
from fake_gpu.checkpoint import Checkpoint
from fake_gpu.inventory import NodeInventory
from fake_gpu.personality import DEFAULT, Personality
from fake_gpu.prepare import PreparedClaim, prepare
from fake_gpu.slices import gpu_name

log = logging.getLogger("fake_gpu.kubelet")
DRA_SERVICE_VERSION = "v1.DRAPlugin"  # k8s.io/kubelet/pkg/apis/dra/v1.DRAPluginService
PLUGIN_TYPE = "DRAPlugin"  # k8s.io/kubelet/pkg/apis/pluginregistration/v1.DRAPlugin

ReadClaim = Callable[[str, str], dict[str, Any]]  # (namespace, name) -> ResourceClaim


@dataclass(frozen=True)
class Paths:
    kubelet_dir: Path  # /var/lib/kubelet on the host
    cdi_dir: Path  # /var/run/cdi on the host
    driver: str = DRIVER
    state_root: Path = state.HOST_ROOT  # the GPUs' state directories on the host

    @property
    def plugin_dir(self) -> Path:
        return self.kubelet_dir / "plugins" / self.driver

    @property
    def dra_socket(self) -> Path:
        return self.plugin_dir / "dra.sock"

    @property
    def registration_socket(self) -> Path:
        return self.kubelet_dir / "plugins_registry" / f"{self.driver}-reg.sock"

    @property
    def checkpoint(self) -> Path:
        return self.plugin_dir / "checkpoint.json"


class DRAPlugin:
    """NodePrepareResources / NodeUnprepareResources for this node's fake devices of one driver."""

    def __init__(
        self,
        inv: NodeInventory,
        read_claim: ReadClaim,
        checkpoint: Checkpoint,
        paths: Paths,
        pb: Any,
        personality: Personality = DEFAULT,
    ):
        self.inv, self.read_claim, self.checkpoint, self.paths, self.pb = inv, read_claim, checkpoint, paths, pb
        self.personality = personality
        self.gpus = {gpu_name(g) for g in inv.gpus}

    def _clear_state(self, claim: PreparedClaim) -> None:
        for d in claim.devices:
            if d.device in self.gpus:
                state.reset(self.paths.state_root, d.device)

    def _response(self, claim: PreparedClaim) -> Any:
        edits = cdi.container_edits(claim, self.inv, self.personality, self.paths.state_root)
        cdi_id = cdi.write_spec(self.paths.cdi_dir, claim, edits, self.paths.driver)
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
            done = prepare(self.inv, self.read_claim(namespace, name), uid, self.paths.driver, self.personality)
            self._clear_state(done)  # the new holder starts idle, whatever the last one left
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
                cdi.remove_spec(self.paths.cdi_dir, c.uid, self.paths.driver)
                done = self.checkpoint.get(c.uid)
                if done is not None:
                    self._clear_state(done)
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
            name=self.paths.driver,
            endpoint=str(self.paths.dra_socket),
            supported_versions=[DRA_SERVICE_VERSION],
        )

    def NotifyRegistrationStatus(self, request: Any, context: grpc.ServicerContext) -> Any:
        if request.plugin_registered:
            log.info("registered with the kubelet as %s", self.paths.driver)
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


def driver_paths(paths: Paths, personality: Personality = DEFAULT) -> list[Paths]:
    """One plugin per driver the personality serves (GPUs and NICs may be two drivers)."""
    return [replace(paths, driver=d) for d in personality.drivers]


def start(
    paths: Paths,
    inv: NodeInventory,
    read_claim: ReadClaim,
    dra_pb: ModuleType,
    reg_pb: ModuleType,
    personality: Personality = DEFAULT,
) -> list[grpc.Server]:
    """Per driver: the DRA service first, then the registration socket (the kubelet dials the DRA one
    once it sees it)."""
    servers = []
    for p in driver_paths(paths, personality):
        checkpoint = Checkpoint(p.checkpoint)
        for claim in checkpoint.claims():  # a restart keeps what running pods hold
            log.info("restored prepared claim %s/%s (%s)", claim.namespace, claim.name, claim.uid)
        plugin = DRAPlugin(inv, read_claim, checkpoint, p, dra_pb, personality)
        dra = serve_unix(p.dra_socket, [handler(dra_pb, "DRAPlugin", plugin)])
        registration = serve_unix(p.registration_socket, [handler(reg_pb, "Registration", Registration(p, reg_pb))])
        log.info("%s: serving DRA on %s, registration on %s", p.driver, p.dra_socket, p.registration_socket)
        servers += [registration, dra]
    return servers


def stop(servers: list[grpc.Server], paths: Paths, personality: Personality = DEFAULT) -> None:
    for server in servers:
        server.stop(grace=2).wait()
    for p in driver_paths(paths, personality):
        p.registration_socket.unlink(missing_ok=True)  # the kubelet deregisters the plugin
