"""The device profile (harness/dra/profile.py): resolved from DeviceClasses and ResourceSlices made
by hand for each known driver, read from a user's file with field-named errors, and the
not-applicable messages naming the missing attribute; and the checks of what a container sees."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fake_gpu
import pytest

from harness.checks import CheckFailed, NotApplicable
from harness.checks.dra import check_sees_devices
from harness.dra import profile, test_driver
from harness.dra.claims import FAKE_GPU, Claim
from harness.dra.profile import NUMA_NODE, NVIDIA, OURS, PCIE_ROOT, TEST_DRIVER, ProfileError
from harness.kube.labels import ACCELERATOR_DRIVERS, FAKE_GPU_DRIVER
from harness.topology.allocations import Allocated


def slice_of(driver: str, node: str, devices: list[dict[str, Any]]) -> dict[str, Any]:
    return {"spec": {"driver": driver, "nodeName": node, "pool": {"name": node, "generation": 1}, "devices": devices}}


def device(name: str, **attributes: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "attributes": attributes}


def device_class(name: str, driver: str) -> dict[str, Any]:
    expression = f'device.driver == "{driver}"'
    return {"metadata": {"name": name}, "spec": {"selectors": [{"cel": {"expression": expression}}]}}


NVIDIA_GPU = device(
    "gpu-0",
    type={"string": "gpu"},
    uuid={"string": "GPU-0"},
    productName={"string": "FAKE H100"},
    index={"int": 0},
    pcieBusID={"string": "0000:17:00.0"},
    **{PCIE_ROOT: {"string": "pci0000:16"}},
)
OUR_NIC = device("nic-0", type={"string": "nic"}, **{NUMA_NODE: {"int": 0}})
NVIDIA_LIKE = [slice_of(NVIDIA, "w1", [NVIDIA_GPU]), slice_of(OURS, "w1", [OUR_NIC])]
CLASSES = [
    device_class(NVIDIA, NVIDIA),
    device_class("gpu.llm-conformance.io", OURS),
    device_class("nic.llm-conformance.io", OURS),
]


def test_discovery_counts_every_known_driver_as_an_accelerator_driver() -> None:
    assert set(ACCELERATOR_DRIVERS) == set(profile.KNOWN)
    assert FAKE_GPU_DRIVER == fake_gpu.DRIVER  # spelled in labels so the harness imports without fake_gpu


def test_nvidia_shaped_devices_resolve_to_their_class_index_and_standard_pcie_root() -> None:
    found = profile.discover(CLASSES, NVIDIA_LIKE)
    assert found is not None
    assert (found.accelerator_driver, found.accelerator_class, found.nic_class) == (
        NVIDIA,
        NVIDIA,
        "nic.llm-conformance.io",
    )
    assert (found.pcie_root, found.index, found.numa, found.interconnect) == (PCIE_ROOT, f"{NVIDIA}/index", None, None)
    assert found.container == "dev-nodes" and found.device_nodes == "/dev/nvidia"
    assert found.gpu_index_is(3) == f'device.attributes["{NVIDIA}"].index == 3'


def test_our_nics_do_not_make_our_driver_the_accelerator_driver() -> None:
    assert profile.accelerator_driver(NVIDIA_LIKE) == NVIDIA


def test_missing_attribute_is_not_applicable_naming_what_was_looked_for() -> None:
    found = profile.discover(CLASSES, NVIDIA_LIKE)
    assert found is not None
    with pytest.raises(NotApplicable, match=rf"no NUMA node attribute \(looked for: {NUMA_NODE}, {NVIDIA}/numaNode"):
        found.attribute("numa")


def test_test_driver_devices_have_no_topology_and_a_class_found_by_its_selector() -> None:
    slices = [slice_of(TEST_DRIVER, "w1", [{"name": "device-00"}, {"name": "device-01"}])]
    found = profile.discover([device_class("example", TEST_DRIVER)], slices)
    assert found is not None
    assert (found.accelerator_driver, found.accelerator_class, found.nic_class) == (TEST_DRIVER, "example", None)
    assert found.container == "claim-env"
    for role in profile.ROLES:
        with pytest.raises(NotApplicable, match=TEST_DRIVER):
            found.attribute(role)
    with pytest.raises(NotApplicable, match="no NIC DeviceClass"):
        Claim("c", found).nics(1)
    assert Claim("c", found).gpus(2).obj()["spec"]["devices"]["requests"][0]["exactly"]["deviceClassName"] == "example"


def test_the_harness_renders_the_test_drivers_class_as_the_known_one() -> None:
    slices = [slice_of(TEST_DRIVER, "w1", [{"name": "device-00"}])]
    found = profile.resolve(TEST_DRIVER, [test_driver.device_class()], slices, "testbed")
    assert found.accelerator_class == profile.KNOWN[TEST_DRIVER].accelerator_class


def test_our_driver_resolves_to_the_fake_gpu_profile() -> None:
    gpu = device(
        "gpu-0",
        type={"string": "gpu"},
        index={"int": 0},
        nvlinkClique={"int": 0},
        **{NUMA_NODE: {"int": 0}, PCIE_ROOT: {"string": "pci0000:00"}},
    )
    found = profile.resolve(OURS, CLASSES, [slice_of(OURS, "w1", [gpu, OUR_NIC])], FAKE_GPU.source)
    assert found == FAKE_GPU


def test_no_accelerators_no_profile() -> None:
    assert profile.discover(CLASSES, [slice_of("dra.net", "w1", [device("eth0")])]) is None


def test_override_file_replaces_fields(tmp_path: Path) -> None:
    file = tmp_path / "profile.yaml"
    file.write_text(f"numaNode: {NUMA_NODE}\ninterconnect: null\nacceleratorClass: my-gpus\n")
    found = profile.discover(CLASSES, NVIDIA_LIKE)
    merged = profile.overridden(found, profile.read_override(file), str(file))
    assert (merged.numa, merged.interconnect, merged.accelerator_class) == (NUMA_NODE, None, "my-gpus")
    assert str(file) in merged.source


def test_override_without_a_discovered_driver_must_name_it(tmp_path: Path) -> None:
    file = tmp_path / "profile.yaml"
    file.write_text("acceleratorDriver: gpu.example.com\nacceleratorClass: gpus\ncontainer: claim-env\n")
    made = profile.overridden(None, profile.read_override(file), str(file))
    assert (made.accelerator_driver, made.accelerator_class, made.numa) == ("gpu.example.com", "gpus", None)
    file.write_text("numaNode: resource.kubernetes.io/numaNode\n")
    with pytest.raises(ProfileError, match="acceleratorDriver: required"):
        profile.overridden(None, profile.read_override(file), str(file))


def test_override_file_errors_name_their_fields(tmp_path: Path) -> None:
    file = tmp_path / "profile.yaml"
    file.write_text("numaNode: numa\ncontainer: sysfs\ncolour: blue\nacceleratorClass: Not A Name\n")
    with pytest.raises(ProfileError) as e:
        profile.read_override(file)
    assert [p.split(":")[0] for p in e.value.problems] == ["numaNode", "container", "colour", "acceleratorClass"]
    file.write_text("container: dev-nodes\n")
    with pytest.raises(ProfileError, match="deviceNodes: required"):
        profile.read_override(file)


def gpu(name: str, index: int, driver: str) -> Allocated:
    return Allocated("gpu", "w1", name, {f"{driver}/index": index}, driver)


def test_device_nodes_match_the_allocated_indices() -> None:
    nvidia = profile.discover(CLASSES, NVIDIA_LIKE)
    assert nvidia is not None
    devices = [gpu("gpu-1", 1, NVIDIA), gpu("gpu-3", 3, NVIDIA)]
    log = "PATH=/bin\nDEV=null\nDEV=nvidia1\nDEV=nvidia3\nDEV=nvidiactl\n"
    assert check_sees_devices(nvidia, "env", devices, log, None) == "/dev/nvidia1, /dev/nvidia3"
    with pytest.raises(CheckFailed, match=r"want \['/dev/nvidia1', '/dev/nvidia3'\]"):
        check_sees_devices(nvidia, "env", devices, "DEV=nvidia1\nDEV=nvidia2\n", None)


def test_claim_env_names_every_request() -> None:
    claim_env = profile.resolve(TEST_DRIVER, [test_driver.device_class()], [], "testbed")
    devices = [
        Allocated("gpu", "w1", "device-00", {}, TEST_DRIVER),
        Allocated("gpu", "w1", "device-01", {}, TEST_DRIVER),
    ]
    assert check_sees_devices(claim_env, "env-1", devices, "claim_env_1_gpu=true\n", None) == "claim_env_1_gpu=true"
    with pytest.raises(CheckFailed, match="lacks"):
        check_sees_devices(claim_env, "env-1", devices, "HOME=/\n", None)
