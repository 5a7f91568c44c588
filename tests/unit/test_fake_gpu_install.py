"""What the harness applies for the fake GPU driver, rendered from the testbed spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fake_gpu import inventory
from fake_gpu.personality import NVIDIA
from fake_gpu.scalar import GPU_RESOURCE, NIC_RESOURCE, extended_resources

from harness.dra import test_driver
from harness.dra.install import PERSONALITY_ANNOTATION, objects, scalar_objects
from harness.spec import load_spec

SPEC = load_spec(Path(__file__).resolve().parents[2] / "clusters" / "default.yaml")
IMAGE = "llm-conformance.local/fake-gpu:0.1.0-abc"


def by_kind(objs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] == kind]


def test_driver_objects_in_apply_order() -> None:
    kinds = [o["kind"] for o in objects(SPEC, IMAGE)]
    assert kinds[0] == "Namespace" and kinds[-1] == "DaemonSet"
    assert kinds.count("DeviceClass") == 2 and "ValidatingAdmissionPolicyBinding" in kinds
    assert kinds.index("ConfigMap") < kinds.index("DaemonSet")


def test_daemonset_runs_the_image_on_nodes_with_hardware() -> None:
    [ds] = by_kind(objects(SPEC, IMAGE), "DaemonSet")
    pod = ds["spec"]["template"]["spec"]
    assert [c["image"] for c in pod["initContainers"] + pod["containers"]] == [IMAGE, IMAGE]
    term = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
    assert term["matchExpressions"][0]["key"] == "llm-conformance.io/hardware-profile"
    driver = pod["containers"][0]
    mounts = {m["mountPath"] for m in driver["volumeMounts"]}
    used = {m["name"] for m in driver["volumeMounts"]}
    hosts = {v["hostPath"]["path"] for v in pod["volumes"] if "hostPath" in v and v["name"] in used}
    assert hosts <= mounts  # host paths at the same paths: the kubelet dials the named endpoint
    assert "capabilities" in driver["securityContext"] and "add" not in driver["securityContext"]["capabilities"]
    # Only the init container may make device nodes, and only it sees the node's /dev.
    [init] = pod["initContainers"]
    assert init["securityContext"]["capabilities"] == {"drop": ["ALL"], "add": ["MKNOD"]}
    assert {m["name"] for m in init["volumeMounts"]} == {"inventory", "dev"} and "dev" not in used


def test_personality_is_one_annotation_both_containers_read() -> None:
    [ds] = by_kind(objects(SPEC, IMAGE, NVIDIA), "DaemonSet")
    template = ds["spec"]["template"]
    assert template["metadata"]["annotations"][PERSONALITY_ANNOTATION] == "nvidia"
    for c in template["spec"]["initContainers"] + template["spec"]["containers"]:
        [env] = [e for e in c["env"] if e["name"] == "FAKE_GPU_PERSONALITY"]
        assert env["valueFrom"]["fieldRef"]["fieldPath"] == f"metadata.annotations['{PERSONALITY_ANNOTATION}']"
    classes = {o["metadata"]["name"] for o in by_kind(objects(SPEC, IMAGE, NVIDIA), "DeviceClass")}
    assert classes == {"gpu.nvidia.com", "nic.llm-conformance.io"}


def test_inventory_configmap_holds_every_worker() -> None:
    [cm] = by_kind(objects(SPEC, IMAGE), "ConfigMap")
    document = json.loads(cm["data"]["inventory.json"])
    assert sorted(document["nodes"]) == sorted(w.name for w in SPEC.workers)
    assert inventory.from_json(document, "llmc-worker3").rack == "rack-2"


def test_driver_rbac_grants_no_writes_beyond_slices() -> None:
    [role] = [r for r in by_kind(objects(SPEC, IMAGE), "ClusterRole") if r["metadata"]["name"] == "fake-gpu"]
    writes = {"create", "update", "patch", "delete"}
    for rule in role["rules"]:
        if writes & set(rule["verbs"]):
            assert rule["resources"] == ["resourceslices"], rule


def test_scalar_mode_advertises_counts_and_only_patches_node_status() -> None:
    inv = inventory.from_spec_node(SPEC.workers[0])
    assert extended_resources(inv) == {GPU_RESOURCE: "4", NIC_RESOURCE: "2"}
    objs = scalar_objects(SPEC, IMAGE)
    [role] = by_kind(objs, "ClusterRole")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["nodes/status"], "verbs": ["patch"]}]
    assert [o["kind"] for o in objs][:2] == ["Namespace", "ConfigMap"]


def test_the_specs_driver_choice_picks_the_personality() -> None:
    spec = load_spec(Path(__file__).resolve().parents[2] / "clusters" / "nvidia-like.yaml")
    [ds] = by_kind(objects(spec, IMAGE), "DaemonSet")
    assert ds["spec"]["template"]["metadata"]["annotations"][PERSONALITY_ANNOTATION] == "nvidia"
    [default_ds] = by_kind(objects(SPEC, IMAGE), "DaemonSet")
    assert default_ds["spec"]["template"]["metadata"]["annotations"][PERSONALITY_ANNOTATION] == "default"


def test_dra_test_driver_objects() -> None:
    objs = test_driver.objects("llm-conformance.local/dra-test-driver:v1.37.2", 4)
    [ds] = by_kind(objs, "DaemonSet")
    [container] = ds["spec"]["template"]["spec"]["containers"]
    assert container["command"][1:] == ["kubelet-plugin", "--num-devices=4", "--node-name=$(NODE_NAME)"]
    pod = ds["spec"]["template"]["spec"]
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {v["hostPath"]["path"] for v in pod["volumes"]} == mounts
    [device_class] = by_kind(objs, "DeviceClass")
    assert device_class["spec"]["selectors"][0]["cel"]["expression"] == f'device.driver == "{test_driver.DRIVER}"'
    [role] = by_kind(objs, "ClusterRole")
    writes = {"create", "update", "patch", "delete"}
    assert {r for rule in role["rules"] if writes & set(rule["verbs"]) for r in rule["resources"]} == {
        "resourceclaims/status",
        "resourceslices",
    }
