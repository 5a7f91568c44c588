"""API clients for one cluster, from its kubeconfig."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from kubernetes import client, config

# Every API call without a timeout of its own gets this one (seconds to connect, to read), so a hung
# call (an API server restarting, a proxy to a pod that is going away) cannot hang the wait around it
# past the wait's own bound. A local API server connects in milliseconds; 30 s leaves a large LIST
# on a busy 2-core testbed room to answer.
REQUEST_TIMEOUT = (5, 30)


def streams(url: str) -> bool:
    """A watch or a followed log: the answer lasts as long as the stream, not one request. (Exec and
    port-forward streams do not come here: kubernetes.stream swaps `call_api` out for their call.)"""
    query = parse_qs(urlsplit(url).query)
    return any(value in ("true", "1") for key in ("watch", "follow") for value in query.get(key, []))


class BoundedApiClient(client.ApiClient):
    """An ApiClient that applies REQUEST_TIMEOUT to every call that does not pass its own, except
    streams. `call_api` is where every call goes through: generated API methods, the dynamic client,
    raw calls (harness.stack.prometheus)."""

    def call_api(
        self,
        method: str,
        url: str,
        header_params: Any = None,
        body: Any = None,
        post_params: Any = None,
        _request_timeout: Any = None,
    ) -> Any:
        if _request_timeout is None and not streams(url):
            _request_timeout = REQUEST_TIMEOUT
        return super().call_api(method, url, header_params, body, post_params, _request_timeout)


@dataclass
class Clients:
    api: client.ApiClient
    core: client.CoreV1Api
    apps: client.AppsV1Api

    @classmethod
    def from_kubeconfig(cls, kubeconfig: Path, context: str | None = None) -> Clients:
        configuration = client.Configuration()
        config.load_kube_config(config_file=str(kubeconfig), context=context, client_configuration=configuration)
        api = BoundedApiClient(configuration)
        return cls(api=api, core=client.CoreV1Api(api), apps=client.AppsV1Api(api))


def error_message(body: Any) -> str:
    """The `message` of an API error's body (the Status object's), or the body as it came."""
    if isinstance(body, bytes):
        body = body.decode(errors="replace")
    try:
        return str(json.loads(body).get("message", body))
    except (ValueError, AttributeError):
        return str(body)
