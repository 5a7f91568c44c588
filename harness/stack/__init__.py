"""The orchestration stack the suites run against: LeaderWorkerSet, Kueue, KEDA, Prometheus.

Real upstream controllers at the versions pinned in harness/versions.yaml, installed from their
release manifests (registry mode) or from the same objects rendered from their Go modules (source
mode), and proven usable before any suite runs.
"""

from __future__ import annotations

from harness.stack import keda, kueue, lws, prometheus
from harness.stack.component import Component
from harness.stack.install import StackFigures, Target, install
from harness.stack.kueue import KueueOptions

__all__ = ["Component", "KueueOptions", "StackFigures", "components", "install", "install_stack"]


def components(kueue_options: KueueOptions | None = None) -> list[Component]:
    return [lws.component(), kueue.component(kueue_options), keda.component(), prometheus.component()]


def install_stack(target: Target, kueue_options: KueueOptions | None = None) -> StackFigures:
    return install(components(kueue_options), target)
