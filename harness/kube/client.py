"""API clients for one cluster, from its kubeconfig."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kubernetes import client, config


@dataclass
class Clients:
    api: client.ApiClient
    core: client.CoreV1Api
    apps: client.AppsV1Api

    @classmethod
    def from_kubeconfig(cls, kubeconfig: Path, context: str | None = None) -> Clients:
        api = config.new_client_from_config(config_file=str(kubeconfig), context=context)
        return cls(api=api, core=client.CoreV1Api(api), apps=client.AppsV1Api(api))
