"""Any object, built-in or custom, from its dict: the dynamic client, for objects that builders make."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient

from harness.kube.client import Clients
from harness.kube.objects import Object


def create(kube: Clients, obj: Object, namespace: str | None = None) -> Any:
    """Create any object (built-in or custom) from its dict; `namespace` applies to namespaced kinds."""
    resource = DynamicClient(kube.api).resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
    return resource.create(body=obj, namespace=namespace if resource.namespaced else None)


@contextmanager
def cluster_objects(kube: Clients, objs: list[Object]) -> Iterator[None]:
    """Cluster-scoped objects (flavors, ClusterQueues, priority classes) that exist for a block only."""
    made: list[Object] = []
    try:
        for obj in objs:
            create(kube, obj)
            made.append(obj)
        yield
    finally:
        for obj in reversed(made):
            resource = DynamicClient(kube.api).resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
            try:
                resource.delete(name=obj["metadata"]["name"])
            except ApiException as e:
                if e.status != 404:
                    raise
