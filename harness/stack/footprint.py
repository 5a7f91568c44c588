"""Memory the stack's controllers use, from each kubelet's /stats/summary (through the API server's
node proxy: the testbed has no metrics-server, and `kubectl top` needs one)."""

from __future__ import annotations

import json

from harness.kube.client import Clients


def container_memory_mib(kube: Clients, namespaces: set[str]) -> dict[str, float]:
    """`namespace/pod/container` -> working set in MiB, for every container in `namespaces`."""
    found: dict[str, float] = {}
    for node in kube.core.list_node().items:
        method, url, headers, _, _ = kube.api.param_serialize(
            "GET", f"/api/v1/nodes/{node.metadata.name}/proxy/stats/summary", auth_settings=["BearerToken"]
        )
        resp = kube.api.call_api(method, url, header_params=headers, _request_timeout=30)
        summary = json.loads(resp.read())
        for pod in summary.get("pods", []):
            ref = pod["podRef"]
            if ref["namespace"] not in namespaces:
                continue
            for container in pod.get("containers", []):
                working_set = container.get("memory", {}).get("workingSetBytes")
                if working_set is not None:
                    found[f"{ref['namespace']}/{ref['name']}/{container['name']}"] = working_set / 2**20
    return found
