"""Kubernetes objects as the harness builds and reads them: one type (a dict, as in YAML), one way to
create and delete any of them, built-in or custom (the dynamic client, on the bounded ApiClient of
harness/kube/client.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient

from harness import versions
from harness.kube.client import Clients
from harness.kube.waits import wait_until

Object = dict[str, Any]


def _resource(kube: Clients, api_version: str, kind: str) -> Any:
    return DynamicClient(kube.api).resources.get(api_version=api_version, kind=kind)


def create(kube: Clients, obj: Object, namespace: str | None = None) -> Any:
    """Create any object (built-in or custom) from its dict; `namespace` applies to namespaced kinds."""
    resource = _resource(kube, obj["apiVersion"], obj["kind"])
    return resource.create(body=obj, namespace=namespace if resource.namespaced else None)


def delete(kube: Clients, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
    """Delete any object by kind and name; False when it was already gone."""
    resource = _resource(kube, api_version, kind)
    try:
        resource.delete(name=name, namespace=namespace if resource.namespaced else None)
    except ApiException as e:
        if e.status != 404:
            raise
        return False
    return True


def delete_all(kube: Clients, api_version: str, kind: str, namespace: str) -> None:
    """Delete every object of the kind in the namespace (a collection delete; the dynamic client wants
    a selector for one, and every kind has the metadata.namespace field)."""
    _resource(kube, api_version, kind).delete(namespace=namespace, field_selector=f"metadata.namespace={namespace}")


def wait_deleted(
    kube: Clients, api_version: str, kind: str, name: str, namespace: str | None = None, timeout: float = 60
) -> float:
    """Wait (bounded) until the object is gone, its finalizers done; returns the seconds taken."""
    resource = _resource(kube, api_version, kind)

    def gone() -> tuple[bool, str]:
        try:
            resource.get(name=name, namespace=namespace if resource.namespaced else None)
        except ApiException as e:
            if e.status == 404:
                return True, "deleted"
            raise
        return False, "still present"

    where = f"{namespace}/" if namespace else ""
    return wait_until(gone, timeout, f"{kind} {where}{name} deleted", interval=1)


def delete_object(kube: Clients, obj: Object, namespace: str | None = None) -> bool:
    """Delete the object a dict describes (as create made it); False when it was already gone."""
    return delete(kube, obj["apiVersion"], obj["kind"], obj["metadata"]["name"], namespace)


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
            delete_object(kube, obj)


def busybox_image() -> str:
    image: str = versions.pinned()["busybox"]["image"]
    return image
