"""The device profile: what the gang, dra and topology checks need to know about a cluster's devices,
whatever DRA driver publishes them.

Which DeviceClass gives an accelerator and which a NIC, which attributes carry the NUMA node, the
PCIe root, the interconnect (NVLink) domain and the device index, and where a container sees its
devices. On a testbed it starts from the spec's driver choice; on an existing cluster from the
drivers its ResourceSlices name (`harness discover` shows it). Either way the attributes are then
resolved against what the devices actually publish: a role no device carries is absent, and a check
that needs it is not applicable, naming what was looked for. A user's file (--llmc-device-profile)
overrides any field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal, cast

import yaml

from harness.kube import labels
from harness.verdicts import NotApplicable

STANDARD = "resource.kubernetes.io/"
NUMA_NODE = STANDARD + "numaNode"
PCIE_ROOT = STANDARD + "pcieRoot"
Container = Literal["llmc-env", "dev-nodes", "claim-env"]
CONTAINER_VIEWS: tuple[Container, ...] = ("llmc-env", "dev-nodes", "claim-env")
QUALIFIED = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?/[A-Za-z][A-Za-z0-9_]{0,31}$")
DNS_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
# The attribute roles a check may need, with what they mean in a not-applicable message.
ROLES = {
    "numa": "NUMA node",
    "pcie_root": "PCIe root",
    "interconnect": "NVLink/interconnect domain",
    "index": "GPU index",
}


@dataclass(frozen=True)
class KnownDriver:
    """A driver the harness knows by name: its classes, and attribute names to look for per role
    (besides the standard ones, which every driver may publish)."""

    accelerator_class: str
    nic_class: str | None
    index: tuple[str, ...]
    interconnect: tuple[str, ...]
    container: Container
    device_nodes: str = ""


OURS = labels.FAKE_GPU_DRIVER  # in both personalities' NIC class
NVIDIA = labels.NVIDIA_GPU_DRIVER
TEST_DRIVER = labels.DRA_TEST_DRIVER
KNOWN: dict[str, KnownDriver] = {
    OURS: KnownDriver(
        "gpu.llm-conformance.io", "nic.llm-conformance.io", (f"{OURS}/index",), (f"{OURS}/nvlinkClique",), "llmc-env"
    ),
    # NVIDIA's DRA driver (k8s-dra-driver-gpu) and fake-gpu's NVIDIA-shaped personality: GPUs under
    # gpu.nvidia.com, any NICs under another driver (ours, on the testbed).
    NVIDIA: KnownDriver(
        "gpu.nvidia.com",
        "nic.llm-conformance.io",
        (f"{NVIDIA}/index",),
        (f"{NVIDIA}/nvlinkClique", f"{NVIDIA}/cliqueId", f"{NVIDIA}/cliqueID"),
        "dev-nodes",
        "/dev/nvidia",
    ),
    # Kubernetes' DRA test driver (test/e2e/dra/test-driver): attribute-less devices, and for each
    # prepared request an env variable claim_<claim>_<request>=true.
    TEST_DRIVER: KnownDriver("test-driver", None, (), (), "claim-env"),
}
# A testbed spec's `driver:` choice → the driver whose devices give the accelerators.
TESTBED_DRIVERS = {"fake-gpu": OURS, "fake-gpu-nvidia": NVIDIA, "dra-test-driver": TEST_DRIVER}


@dataclass(frozen=True)
class DeviceProfile:
    source: str  # where it came from, for messages: "testbed driver fake-gpu", "discovered", a file
    accelerator_driver: str
    accelerator_class: str | None  # None: no DeviceClass selects the accelerators' driver
    nic_class: str | None
    numa: str | None  # fully qualified attribute names; None: the devices publish none
    pcie_root: str | None
    interconnect: str | None
    index: str | None
    container: Container
    device_nodes: str = ""  # dev-nodes: the path prefix of the accelerators' device nodes

    def attribute(self, role: str) -> str:
        """The attribute of `role` (a ROLES key), or NotApplicable naming what the devices lack."""
        name = cast(str | None, getattr(self, role))
        if name is None:
            looked = ", ".join(candidates(self.accelerator_driver, role)) or "none known"
            raise NotApplicable(
                f"the {self.accelerator_driver} devices publish no {ROLES[role]} attribute (looked for: {looked}; "
                f"device profile: {self.source})"
            )
        return name

    def gpu_class(self) -> str:
        if self.accelerator_class is None:
            raise NotApplicable(f"no DeviceClass selects the {self.accelerator_driver} devices ({self.source})")
        return self.accelerator_class

    def nic(self) -> str:
        if self.nic_class is None:
            raise NotApplicable(f"no NIC DeviceClass next to {self.accelerator_driver} ({self.source})")
        return self.nic_class

    def gpu_index_is(self, index: int) -> str:
        """A CEL selector: the accelerator whose index attribute is `index`."""
        domain, name = self.attribute("index").split("/")
        return f'device.attributes["{domain}"].{name} == {index}'

    def attribute_is(self, role: str, value: int) -> str:
        domain, name = self.attribute(role).split("/")
        return f'device.attributes["{domain}"].{name} == {value}'

    @property
    def ours(self) -> bool:
        """The harness's own driver: its devices carry the LLMC_* placement env the mock engine reads."""
        return self.container == "llmc-env"

    def describe(self) -> str:
        lines = [f"device profile ({self.source}):"]
        lines.append(f"  accelerators: DeviceClass {self.accelerator_class or '(none)'} of {self.accelerator_driver}")
        lines.append(f"  NICs: DeviceClass {self.nic_class or '(none)'}")
        for role, what in ROLES.items():
            lines.append(f"  {what}: {getattr(self, role) or 'not published: checks needing it are not applicable'}")
        seen = {"llmc-env": "LLMC_* env", "dev-nodes": f"device nodes {self.device_nodes}<N>", "claim-env": "claim env"}
        lines.append(f"  a container sees its devices as: {seen[self.container]}")
        return "\n".join(lines)


def candidates(driver: str, role: str) -> tuple[str, ...]:
    """Attribute names that carry `role` on `driver`'s devices: standard ones first."""
    known = KNOWN.get(driver)
    own = {
        "numa": (NUMA_NODE, f"{driver}/numaNode", f"{driver}/numa"),
        "pcie_root": (PCIE_ROOT, f"{driver}/pcieRoot"),
        "interconnect": (known and known.interconnect) or (f"{driver}/nvlinkClique", f"{driver}/cliqueId"),
        "index": (known and known.index) or (f"{driver}/index",),
    }
    return own[role]


# --- resolving against what a cluster publishes ------------------------------------------------


def _accelerators(slices: list[dict[str, Any]], driver: str) -> list[dict[str, Any]]:
    """`driver`'s node-local devices that are accelerators: typed `gpu`, or untyped (devices typed
    otherwise, e.g. our NICs or MIG partitions, are not)."""
    found = []
    for s in slices:
        if s["spec"]["driver"] != driver or not s["spec"].get("nodeName"):
            continue
        for d in s["spec"].get("devices") or []:
            attrs = d.get("attributes") or {}
            kind = next(iter((attrs.get("type") or attrs.get(f"{driver}/type") or {}).values()), "gpu")
            if str(kind).lower() == "gpu":
                found.append(d)
    return found


def _published_attributes(slices: list[dict[str, Any]], driver: str) -> set[str]:
    """Qualified names of the attributes some accelerator of `driver` publishes."""
    return {
        a if "/" in a else f"{driver}/{a}" for d in _accelerators(slices, driver) for a in d.get("attributes") or {}
    }


def _class_drivers(device_class: dict[str, Any]) -> set[str]:
    """The drivers a DeviceClass's CEL selectors name (`device.driver == "x"`)."""
    found = set()
    for sel in device_class.get("spec", {}).get("selectors") or []:
        found |= set(re.findall(r'device\.driver\s*==\s*"([^"]+)"', (sel.get("cel") or {}).get("expression", "")))
    return found


def resolve(driver: str, classes: list[dict[str, Any]], slices: list[dict[str, Any]], source: str) -> DeviceProfile:
    """The profile of `driver`'s accelerators on a cluster with these DeviceClasses and ResourceSlices."""
    known = KNOWN.get(driver)
    names = {c["metadata"]["name"]: c for c in classes}
    accelerator = known.accelerator_class if known and known.accelerator_class in names else None
    if accelerator is None:  # a class named otherwise (upstream's example calls the test driver's "example")
        accelerator = next((n for n, c in sorted(names.items()) if _class_drivers(c) == {driver}), None)
    nic = known.nic_class if known and known.nic_class in names else None
    published = _published_attributes(slices, driver)
    found = {role: next((a for a in candidates(driver, role) if a in published), None) for role in ROLES}
    return DeviceProfile(
        source=source,
        accelerator_driver=driver,
        accelerator_class=accelerator,
        nic_class=nic,
        container=known.container if known else "claim-env",
        device_nodes=known.device_nodes if known else "",
        **found,
    )


def accelerator_driver(slices: list[dict[str, Any]]) -> str | None:
    """The driver whose devices are the cluster's accelerators: a known one first (ours, NVIDIA's,
    the test driver), else one publishing devices typed `gpu` or with "gpu" in its name."""
    drivers = sorted({s["spec"]["driver"] for s in slices})
    with_accelerators = [d for d in (*KNOWN, *drivers) if d in drivers and _accelerators(slices, d)]
    typed = [d for d in with_accelerators if d in KNOWN or "gpu" in d or _typed_gpu(slices, d)]
    return typed[0] if typed else None


def _typed_gpu(slices: list[dict[str, Any]], driver: str) -> bool:
    return any(
        str(next(iter(((d.get("attributes") or {}).get("type") or {}).values()), "")).lower() == "gpu"
        for d in _accelerators(slices, driver)
    )


def discover(classes: list[dict[str, Any]], slices: list[dict[str, Any]]) -> DeviceProfile | None:
    """An existing cluster's profile from its DeviceClasses and ResourceSlices; None without accelerators."""
    driver = accelerator_driver(slices)
    return None if driver is None else resolve(driver, classes, slices, f"discovered from {driver}'s slices")


# --- the user's override --------------------------------------------------------------------------

FILE_FIELDS = {
    "acceleratorDriver": "accelerator_driver",
    "acceleratorClass": "accelerator_class",
    "nicClass": "nic_class",
    "numaNode": "numa",
    "pcieRoot": "pcie_root",
    "interconnect": "interconnect",
    "index": "index",
    "container": "container",
    "deviceNodes": "device_nodes",
}


class ProfileError(ValueError):
    """An invalid device profile file; one `field: reason` line per problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{source}: invalid device profile\n" + "\n".join(f"  {p}" for p in problems))


def read_override(path: str | Path) -> dict[str, Any]:
    """The file's fields as DeviceProfile field → value (null: the role is absent); ProfileError on
    any problem, all at once."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as e:
        raise ProfileError(str(path), [f"not YAML: {e}"]) from None
    if not isinstance(data, dict):
        raise ProfileError(str(path), [f"must be a mapping of {', '.join(FILE_FIELDS)}"])
    problems: list[str] = []
    out: dict[str, Any] = {}
    for key, value in data.items():
        field = FILE_FIELDS.get(str(key))
        if field is None:
            problems.append(f"{key}: unknown field; allowed: {', '.join(FILE_FIELDS)}")
            continue
        if key == "container":
            if value not in CONTAINER_VIEWS:
                problems.append(f"container: {value!r} is not one of {', '.join(CONTAINER_VIEWS)}")
        elif key == "deviceNodes":
            if not (isinstance(value, str) and value.startswith("/dev/")):
                problems.append(f"deviceNodes: {value!r} is not a path under /dev/, e.g. /dev/nvidia")
        elif key in ("acceleratorDriver", "acceleratorClass", "nicClass"):
            required = key == "acceleratorDriver"
            if (value is None and required) or (
                value is not None and not (isinstance(value, str) and DNS_NAME.match(value))
            ):
                problems.append(f"{key}: {value!r} is not a DNS name such as gpu.nvidia.com")
        elif value is not None and not (isinstance(value, str) and QUALIFIED.match(value)):
            problems.append(f"{key}: {value!r} is not a qualified attribute name such as {NUMA_NODE} (or null: absent)")
        out[field] = value
    if out.get("container") == "dev-nodes" and not out.get("device_nodes"):
        problems.append("deviceNodes: required with container dev-nodes")
    if problems:
        raise ProfileError(str(path), problems)
    return out


def overridden(profile: DeviceProfile | None, override: dict[str, Any], source: str) -> DeviceProfile:
    """`profile` with the file's fields; without a discovered profile, the file must name the
    accelerators' driver and class."""
    if profile is None:
        missing = [k for k in ("acceleratorDriver", "acceleratorClass") if FILE_FIELDS[k] not in override]
        if missing:
            raise ProfileError(source, [f"{k}: required: no accelerator driver was discovered" for k in missing])
        empty = {f.name: None for f in fields(DeviceProfile) if f.name not in ("source", "container", "device_nodes")}
        profile = DeviceProfile(source=source, container="claim-env", **empty)  # type: ignore[arg-type]
    return replace(profile, **override, source=f"{profile.source}, overridden by {source}")
