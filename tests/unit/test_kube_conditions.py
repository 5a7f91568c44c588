"""Conditions read one way from typed objects and from dicts (harness.kube.conditions)."""

from __future__ import annotations

from types import SimpleNamespace

from harness.kube.conditions import Condition, condition, is_true

POD = SimpleNamespace(status=SimpleNamespace(conditions=[SimpleNamespace(type="Ready", status="True")]))
WORKLOAD = {
    "status": {"conditions": [{"type": "Admitted", "status": "False", "reason": "Pending", "message": "quota"}]}
}


def test_typed_and_dict_objects_read_alike() -> None:
    assert is_true(POD, "Ready")
    assert not is_true(WORKLOAD, "Admitted")
    assert condition(WORKLOAD, "Admitted") == Condition("Admitted", "False", "Pending", "quota")


def test_an_object_without_conditions_has_none() -> None:
    assert condition({"status": {}}, "Ready") is None
    assert condition(SimpleNamespace(status=None), "Ready") is None
    assert not is_true({}, "Ready")
