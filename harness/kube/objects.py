"""The one type of a Kubernetes object as the harness builds and reads it (a dict, as in YAML), and small
builders for the objects suites create (instead of copy-pasted YAML with string edits)."""

from __future__ import annotations

from typing import Any

from harness import versions
from harness.kube.labels import HOSTNAME_LABEL

Object = dict[str, Any]


def busybox_image() -> str:
    image: str = versions.pinned()["busybox"]["image"]
    return image


def web_pod(name: str, node: str, port: int = 8080) -> dict[str, Any]:
    """A busybox httpd on `node` that answers with the node's name: a probe target for the network."""
    script = f"mkdir -p /www && echo $NODE_NAME > /www/index.html && exec httpd -f -p {port} -h /www"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "web", "node": node}},
        "spec": {
            "nodeSelector": {HOSTNAME_LABEL: node},
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": "web",
                    "image": busybox_image(),
                    "command": ["sh", "-c", script],
                    "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
                    "ports": [{"containerPort": port}],
                    "readinessProbe": {"httpGet": {"path": "/", "port": port}, "periodSeconds": 2},
                    "resources": {"requests": {"cpu": "5m", "memory": "8Mi"}},
                }
            ],
        },
    }


def service(name: str, selector: dict[str, str], port: int, node_port: int | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": selector, "ports": [{"port": port, "targetPort": port}]}
    if node_port is not None:
        spec["type"] = "NodePort"
        spec["ports"][0]["nodePort"] = node_port
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}
