"""LeaderWorkerSet: the upstream controller, with its internal certificate management (no cert-manager)."""

from __future__ import annotations

from harness import versions
from harness.kube.labels import LWS_API
from harness.kube.objects import Object
from harness.stack.component import Component
from harness.stack.images import module_tree
from harness.stack.render import ImagePin, KustomizeSource, fetch, render
from harness.supply import Mode

NAMESPACE = "lws-system"


def component() -> Component:
    v = versions.pinned()["lws"]
    return Component(
        name="lws",
        version=v["version"],
        namespace=NAMESPACE,
        manifests_url=v["manifests"],
        objects=objects,
        images=(v["image"],),
        webhook_probe=_probe(),
    )


def objects(mode: Mode) -> list[Object]:
    v = versions.pinned()["lws"]
    if mode is Mode.REGISTRY:
        return fetch(v["manifests"])
    # LWS's `make artifacts`: `kustomize edit set image controller=$IMG` in config/manager.
    return render(
        KustomizeSource(module_tree("lws"), v["kustomize"], (ImagePin("config/manager", "controller", v["image"]),))
    )


def _probe() -> Object:
    return {
        "apiVersion": LWS_API,
        "kind": "LeaderWorkerSet",
        "metadata": {"name": "llmc-webhook-probe", "namespace": "default"},
        "spec": {
            "replicas": 1,
            "leaderWorkerTemplate": {
                "size": 1,
                "workerTemplate": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}},
            },
        },
    }
