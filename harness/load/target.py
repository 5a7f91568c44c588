"""Where load may go: 127.0.0.1 (loopback), or a container on one of the harness's own testbed networks."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class TargetRefused(ValueError):
    pass


def check_target(url: str) -> None:
    """Raise TargetRefused unless every address `url`'s host resolves to is allowed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused(f"--target {url!r}: must be an http(s) URL with a host, e.g. http://127.0.0.1:30080")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 80, proto=socket.IPPROTO_TCP)
    except socket.gaierror as e:
        raise TargetRefused(f"--target {url!r}: cannot resolve {parts.hostname!r} ({e.strerror})") from None
    addresses = {ipaddress.ip_address(info[4][0]) for info in infos}
    outside = [a for a in addresses if not a.is_loopback]
    if outside and not set(map(str, outside)) <= _own_container_addresses():
        raise TargetRefused(
            f"--target {url!r}: {parts.hostname} is {', '.join(map(str, sorted(outside, key=str)))}; load goes only "
            "to 127.0.0.1 (a NodePort through kind's port mapping, kubectl port-forward) or to containers on the "
            "harness's own testbed networks"
        )


def _own_container_addresses() -> set[str]:
    # Imported here: the Locust process imports harness.load (for its client) and needs neither the
    # Docker nor the Kubernetes client.
    import docker
    import docker.errors

    from harness.cluster.testbed import NETWORK_LABEL

    try:
        client = docker.from_env()
        networks = client.networks.list(filters={"label": NETWORK_LABEL})
    except docker.errors.DockerException:
        return set()
    addresses = set()
    for network in networks:
        network.reload()
        for endpoint in (network.attrs.get("Containers") or {}).values():
            address = endpoint.get("IPv4Address", "").split("/")[0]
            if address:
                addresses.add(address)
    return addresses
