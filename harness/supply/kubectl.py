"""The kubectl the installers run (`kubectl kustomize`, `kubectl apply --server-side`): the one on
PATH, else the one registry mode copied out of the node image (supply/nodeimage.py), else the one
source mode already built with the pinned Kubernetes (cached, so no extra build)."""

from __future__ import annotations

import shutil
from functools import cache

from harness import versions
from harness.supply import gobuild, nodeimage, source


@cache
def kubectl() -> str:
    found = shutil.which("kubectl")
    if found:
        return found
    if nodeimage.node_kubectl().exists():
        return str(nodeimage.node_kubectl())
    return str(gobuild.build(source.kubernetes_build(versions.pinned()["kubernetes"])) / "kubectl")
