"""The pinned versions (harness/versions.yaml), read once."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml


@cache
def pinned() -> dict[str, Any]:
    text = resources.files("harness").joinpath("versions.yaml").read_text()
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def staging_version(kubernetes: str) -> str:
    """k8s.io staging modules are tagged v0.X.Y for Kubernetes v1.X.Y."""
    return "v0." + kubernetes.removeprefix("v1.")
