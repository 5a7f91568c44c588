"""Who holds each device: the kubelet's pod resources API, as dcgm-exporter asks it, lists every
container with the DRA devices it was given (claim, driver, pool, device)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc

SOCKET = Path("/var/lib/kubelet/pod-resources/kubelet.sock")


@dataclass(frozen=True)
class Holder:
    pod: str
    namespace: str
    container: str


def holders_from(response: Any, drivers: set[str]) -> dict[str, Holder]:
    """Device name -> the first container (in the kubelet's order) given it by one of `drivers`."""
    found: dict[str, Holder] = {}
    for pod in response.pod_resources:
        for container in pod.containers:
            for claim in container.dynamic_resources:
                for device in claim.claim_resources:
                    if device.driver_name in drivers:
                        found.setdefault(device.device_name, Holder(pod.name, pod.namespace, container.name))
    return found


def holders(socket: Path, pb: ModuleType, drivers: set[str], timeout: float = 5) -> dict[str, Holder]:
    with grpc.insecure_channel(f"unix://{socket}") as channel:
        list_pods = channel.unary_unary(
            "/v1.PodResourcesLister/List",
            request_serializer=pb.ListPodResourcesRequest.SerializeToString,
            response_deserializer=pb.ListPodResourcesResponse.FromString,
        )
        return holders_from(list_pods(pb.ListPodResourcesRequest(), timeout=timeout), drivers)
