"""The gang checks' quota resource: what the running Kueue counts the GPU class's devices as."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest
import yaml

from harness.checks import NotApplicable
from harness.kube.client import Clients
from harness.scenarios.gang import quota_resource, require_wait_for_pods_ready
from harness.stack import kueue


def kube_with(config: dict[str, Any]) -> Clients:
    cm = SimpleNamespace(data={kueue.CONFIG_KEY: yaml.safe_dump(config)})
    core = SimpleNamespace(list_config_map_for_all_namespaces=lambda field_selector: SimpleNamespace(items=[cm]))
    return cast(Clients, SimpleNamespace(core=core))


def test_the_class_mapped_resource_is_the_quota() -> None:
    config = {
        "resources": {"deviceClassMappings": [{"name": "example.com/gpu", "deviceClassNames": ["gpu.nvidia.com"]}]}
    }
    assert quota_resource(kube_with(config), "gpu.nvidia.com") == "example.com/gpu"


def test_an_unmapped_class_is_not_applicable_naming_it() -> None:
    with pytest.raises(NotApplicable, match="maps no quota resource to DeviceClass test-driver"):
        quota_resource(kube_with({"resources": {}}), "test-driver")


def test_requeue_needs_wait_for_pods_ready() -> None:
    require_wait_for_pods_ready(kube_with({"waitForPodsReady": {"timeout": "30s"}}))
    with pytest.raises(NotApplicable, match="no waitForPodsReady"):
        require_wait_for_pods_ready(kube_with({}))
