"""Whatever DRA driver a cluster runs: what it publishes (every driver's ResourceSlices and the
DeviceClasses), the testbed's driver installed as its spec chooses, and the device profile the gang,
dra and topology checks claim through."""

from __future__ import annotations

from typing import Any, cast

from kubernetes import client

from harness.dra import profile
from harness.dra.install import DriverFigures, Target, install_fake_gpu
from harness.kube.client import Clients
from harness.verdicts import NotApplicable


def resource_slices(kube: Clients) -> list[dict[str, Any]]:
    api = client.CustomObjectsApi(kube.api)
    items = cast(dict[str, Any], api.list_cluster_custom_object("resource.k8s.io", "v1", "resourceslices"))
    return list(items["items"])


def device_classes(kube: Clients) -> list[dict[str, Any]]:
    api = client.CustomObjectsApi(kube.api)
    items = cast(dict[str, Any], api.list_cluster_custom_object("resource.k8s.io", "v1", "deviceclasses"))
    return list(items["items"])


def published_devices(kube: Clients) -> dict[tuple[str, str], dict[str, Any]]:
    """Every driver's devices by (driver, pool), then by device name, over all the pool's slices."""
    pools: dict[tuple[str, str], dict[str, Any]] = {}
    for s in resource_slices(kube):
        key = (s["spec"]["driver"], s["spec"]["pool"]["name"])
        pools.setdefault(key, {}).update({d["name"]: d for d in s["spec"].get("devices") or []})
    return pools


def install_driver(target: Target) -> DriverFigures | None:
    """The testbed's driver (its spec's `driver:`) installed and every worker's devices published.
    On an existing cluster nothing is installed (its nodes are the user's, with their own drivers):
    the checks use what it publishes, through the device profile."""
    if getattr(target, "discovery", None) is not None:
        return None
    if target.spec.driver == "dra-test-driver":
        from harness.dra.test_driver import install_test_driver

        return install_test_driver(target)
    return install_fake_gpu(target)


def device_profile(target: Target, override: str | None = None) -> profile.DeviceProfile:
    """The devices' profile: the testbed's driver choice, or what an existing cluster publishes,
    resolved against its DeviceClasses and ResourceSlices; `override` (a YAML file) wins."""
    kube = target.clients()
    classes, found = device_classes(kube), resource_slices(kube)
    if getattr(target, "discovery", None) is None:
        driver = profile.TESTBED_DRIVERS[target.spec.driver]
        resolved: profile.DeviceProfile | None = profile.resolve(
            driver, classes, found, f"testbed {target.spec.name}, driver {target.spec.driver}"
        )
    else:
        resolved = profile.discover(classes, found)
    if override:
        return profile.overridden(resolved, profile.read_override(override), override)
    if resolved is None:
        raise NotApplicable(
            "no DRA driver on this cluster publishes accelerators (no ResourceSlice with GPU devices); "
            "name them with --llmc-device-profile FILE"
        )
    return resolved
