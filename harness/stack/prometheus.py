"""Prometheus: scrapes annotated pods; KEDA's prometheus trigger and the suites query it.

Prometheus has no upstream Kubernetes manifest of its own (users pick the operator or a chart), so the
objects are this project's (manifests/prometheus.yaml), the same in both image modes; only the image
is upstream's (registry mode) or Debian's package of the same version (source mode).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from harness import versions
from harness.kube.client import Clients
from harness.kube.labels import PROMETHEUS_SERVICE
from harness.kube.objects import Object
from harness.stack.component import Component
from harness.stack.render import parse
from harness.supply import Mode

NAMESPACE, SERVICE = PROMETHEUS_SERVICE
PORT = 9090
# What KEDA's prometheus trigger uses as serverAddress.
SERVER_ADDRESS = f"http://{SERVICE}.{NAMESPACE}.svc:{PORT}"


def component() -> Component:
    v = versions.pinned()["prometheus"]
    return Component(
        name="prometheus",
        version=v["version"],
        namespace=NAMESPACE,
        manifests_url="",
        objects=objects,
        images=(v["image"],),
        extra_ready=_answers,
    )


def objects(mode: Mode) -> list[Object]:
    text = resources.files("harness.stack").joinpath("manifests/prometheus.yaml").read_text()
    objs = parse(text)
    for obj in objs:
        if obj["kind"] == "Deployment":
            for c in obj["spec"]["template"]["spec"]["containers"]:
                c["image"] = versions.pinned()["prometheus"]["image"]
    return objs


def api(kube: Clients, path: str, **params: str) -> Any:
    """GET Prometheus' HTTP API through the API server's service proxy (no port exposed)."""
    method, url, headers, _, _ = kube.api.param_serialize(
        "GET",
        f"/api/v1/namespaces/{NAMESPACE}/services/{SERVICE}:{PORT}/proxy/{path.lstrip('/')}",
        query_params=list(params.items()),
        auth_settings=["BearerToken"],
    )
    resp = kube.api.call_api(method, url, header_params=headers, _request_timeout=30)
    data = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"Prometheus {path}: HTTP {resp.status}: {data[:300]!r}")
    return json.loads(data)


def query(kube: Clients, promql: str) -> list[dict[str, Any]]:
    """Instant query; returns the result vector."""
    body = api(kube, "api/v1/query", query=promql)
    if body.get("status") != "success":
        raise RuntimeError(f"Prometheus query {promql!r} failed: {body}")
    return list(body["data"]["result"])


def _answers(kube: Clients) -> tuple[bool, str]:
    try:
        body = api(kube, "api/v1/status/buildinfo")
    except (RuntimeError, ValueError) as e:  # 503 or no JSON while Prometheus starts: not usable yet
        return False, f"{type(e).__name__}: {e}"
    return body.get("status") == "success", f"buildinfo {body.get('data', body)}"
