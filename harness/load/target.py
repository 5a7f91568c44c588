"""Where load may go (127.0.0.1, or a container on one of the harness's own testbed networks), and
which model it serves."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import requests

from harness.load.client import describe


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

    from harness.kube.labels import NETWORK_LABEL

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


class NoModel(RuntimeError):
    """The target does not say which model it serves."""


def served_model(url: str, timeout: float = 10) -> str:
    """The first model `GET /v1/models` lists (vLLM lists its --served-model-name first)."""
    models = f"{url.rstrip('/')}/v1/models"
    try:
        reply = requests.get(models, timeout=timeout)
    except requests.RequestException as e:
        raise NoModel(f"cannot read the served model from {models}: {describe(e)}") from None
    seen = f"HTTP {reply.status_code}: {reply.text[:200]!r}"
    if reply.status_code != 200:
        raise NoModel(f"cannot read the served model from {models}: {seen}")
    try:
        ids = [str(m["id"]) for m in reply.json()["data"]]
    except (ValueError, KeyError, TypeError):
        raise NoModel(f"cannot read the served model from {models}: not an OpenAI model list ({seen})") from None
    if not ids:
        raise NoModel(f"cannot read the served model from {models}: it lists no model ({seen})")
    return ids[0]
