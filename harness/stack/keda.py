"""KEDA: operator, metrics KEDA_API server and admission webhooks. KEDA generates and rotates its own
certificates (`--enable-cert-rotation=true` in its manifests): no cert-manager."""

from __future__ import annotations

import re

from harness import versions
from harness.kube.labels import KEDA_API
from harness.kube.objects import Object
from harness.stack.component import Component
from harness.stack.images import module_tree
from harness.stack.render import ImagePin, KustomizeSource, fetch, render
from harness.supply import Mode

NAMESPACE = "keda"
LABEL_TRANSFORMER = "config/default/kustomize-config/metadataLabelTransformer.yaml"


def component() -> Component:
    v = versions.pinned()["keda"]
    return Component(
        name="keda",
        version=v["version"],
        namespace=NAMESPACE,
        manifests_url=v["manifests"],
        objects=objects,
        images=tuple(v["images"].values()),
        webhook_probe=_probe(),
    )


def objects(mode: Mode) -> list[Object]:
    v = versions.pinned()["keda"]
    if mode is Mode.REGISTRY:
        return fetch(v["manifests"])
    images = v["images"]
    upstream = "ghcr.io/kedacore"
    version = v["version"].removeprefix("v")
    # KEDA's `make release`: set the three images, stamp the version label, build config/default.
    return render(
        KustomizeSource(
            module_tree("keda"),
            v["kustomize"],
            (
                ImagePin("config/manager", f"{upstream}/keda", images["operator"]),
                ImagePin("config/metrics-server", f"{upstream}/keda-metrics-apiserver", images["metrics-apiserver"]),
                ImagePin("config/webhooks", f"{upstream}/keda-admission-webhooks", images["admission-webhooks"]),
            ),
            edits=((LABEL_TRANSFORMER, lambda text: re.sub(r"version: .*", f"version: {version}", text)),),
        )
    )


def _probe() -> Object:
    # KEDA's webhook validates ScaledObjects (its target must exist, so it denies this one: an answer).
    return {
        "apiVersion": KEDA_API,
        "kind": "ScaledObject",
        "metadata": {"name": "llmc-webhook-probe", "namespace": "default"},
        "spec": {
            "scaleTargetRef": {"name": "llmc-webhook-probe-absent"},
            "triggers": [{"type": "cpu", "metricType": "Utilization", "metadata": {"value": "50"}}],
        },
    }
