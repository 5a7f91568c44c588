"""A scratch namespace's clean-up: its pods skip their graceful end, except those holding DRA claims."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from kubernetes.client.exceptions import ApiException

from harness.kube.namespaces import scratch_namespace


class FakeCore:
    def __init__(self, pods: list[Any]) -> None:
        self.pods = pods
        self.calls: list[tuple[str, ...]] = []

    def create_namespace(self, body: Any) -> None:
        self.calls.append(("create", body["metadata"]["name"]))

    def delete_namespace(self, name: str) -> None:
        self.calls.append(("delete namespace", name))

    def list_namespaced_pod(self, namespace: str) -> Any:
        return SimpleNamespace(items=self.pods)

    def delete_namespaced_pod(self, name: str, namespace: str, grace_period_seconds: int) -> None:
        if name == "vanished":
            raise ApiException(status=404)
        self.calls.append(("delete pod", name, str(grace_period_seconds)))

    def read_namespace(self, name: str) -> Any:
        raise ApiException(status=404)


def pod(name: str, claims: list[Any] | None = None) -> Any:
    return SimpleNamespace(metadata=SimpleNamespace(name=name), spec=SimpleNamespace(resource_claims=claims))


def test_pods_go_at_once_after_the_namespace_is_deleted_but_not_those_with_claims() -> None:
    core = FakeCore([pod("engine-0"), pod("vanished"), pod("gpu-user", [SimpleNamespace(name="gpu")])])
    with scratch_namespace(core, "t") as ns:  # type: ignore[arg-type]
        pass
    assert core.calls[1:] == [("delete namespace", ns), ("delete pod", "engine-0", "0")]
