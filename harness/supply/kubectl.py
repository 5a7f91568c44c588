"""The kubectl the installers run (`kubectl kustomize`, `kubectl apply --server-side`): the one on
PATH, else the one source mode already built with the pinned Kubernetes (cached, so no extra build)."""

from __future__ import annotations

import shutil
from functools import cache

from harness import versions
from harness.supply import gobuild, source


@cache
def kubectl() -> str:
    found = shutil.which("kubectl")
    if found:
        return found
    return str(gobuild.build(source.kubernetes_build(versions.pinned()["kubernetes"])) / "kubectl")
