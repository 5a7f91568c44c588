"""The one create/delete path (harness.kube.objects): namespaces only for namespaced kinds, a delete of
what is already gone is no error, and a block's cluster objects are removed in reverse order."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

import pytest
from kubernetes.client.exceptions import ApiException

from harness.kube import objects
from harness.kube.client import Clients
from harness.kube.objects import Object, cluster_objects, create, delete, delete_all


@dataclass
class FakeResource:
    kind: str
    namespaced: bool
    calls: list[tuple[Any, ...]]
    gone: set[str] = field(default_factory=set)

    def create(self, body: Object, namespace: str | None) -> None:
        self.calls.append(("create", self.kind, body["metadata"]["name"], namespace))

    def delete(self, name: str | None = None, namespace: str | None = None, field_selector: str = "") -> None:
        if name in self.gone:
            raise ApiException(status=404)
        self.calls.append(("delete", self.kind, name, namespace, field_selector))


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    seen: list[tuple[Any, ...]] = []
    namespaced = {"Pod": True, "LeaderWorkerSet": True, "ClusterQueue": False, "ResourceFlavor": False}
    resources = {kind: FakeResource(kind, scoped, seen, gone={"absent"}) for kind, scoped in namespaced.items()}

    class FakeDynamic:
        def __init__(self, api: object) -> None:
            self.resources = self

        def get(self, api_version: str, kind: str) -> FakeResource:
            return resources[kind]

    monkeypatch.setattr(objects, "DynamicClient", FakeDynamic)
    return seen


KUBE = cast(Clients, SimpleNamespace(api=None))


def obj(kind: str, name: str) -> Object:
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": name}}


def test_the_namespace_goes_only_to_namespaced_kinds(calls: list[tuple[Any, ...]]) -> None:
    create(KUBE, obj("Pod", "p"), "ns")
    create(KUBE, obj("ClusterQueue", "cq"), "ns")
    assert calls == [("create", "Pod", "p", "ns"), ("create", "ClusterQueue", "cq", None)]


def test_deleting_what_is_gone_says_so_without_error(calls: list[tuple[Any, ...]]) -> None:
    assert delete(KUBE, "v1", "Pod", "p", "ns") is True
    assert delete(KUBE, "v1", "Pod", "absent", "ns") is False
    assert calls == [("delete", "Pod", "p", "ns", "")]


def test_delete_all_selects_the_namespace(calls: list[tuple[Any, ...]]) -> None:
    delete_all(KUBE, "leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet", "ns")
    assert calls == [("delete", "LeaderWorkerSet", None, "ns", "metadata.namespace=ns")]


def test_cluster_objects_are_removed_in_reverse_even_when_the_block_fails(calls: list[tuple[Any, ...]]) -> None:
    with pytest.raises(RuntimeError), cluster_objects(KUBE, [obj("ResourceFlavor", "f"), obj("ClusterQueue", "cq")]):
        raise RuntimeError("the check broke")
    assert [c[:3] for c in calls] == [
        ("create", "ResourceFlavor", "f"),
        ("create", "ClusterQueue", "cq"),
        ("delete", "ClusterQueue", "cq"),
        ("delete", "ResourceFlavor", "f"),
    ]
