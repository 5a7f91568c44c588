"""The pinned-versions check names every expected controller: it fails on a missing one, on other
images and on no available replica, and on an empty expectation (the old vacuous pass)."""

from __future__ import annotations

import pytest

from harness.checks import CheckFailed
from harness.checks.components import RunningController, judge_pinned
from harness.stack.controllers import Controller

LWS = Controller("lws", "lws-system", "lws-controller-manager", ("registry.k8s.io/lws/lws:v0.9.0",))
KEDA = Controller("keda", "keda", "keda-operator", ("ghcr.io/kedacore/keda:2.20.2",))


def running(**overrides: RunningController) -> dict[tuple[str, str], RunningController]:
    out = {(c.namespace, c.name): RunningController(c.images, 1) for c in (LWS, KEDA)}
    for name, r in overrides.items():
        c = {"lws": LWS, "keda": KEDA}[name]
        out[(c.namespace, c.name)] = r
    return out


def test_every_controller_on_its_pins_passes() -> None:
    lines = judge_pinned([LWS, KEDA], running())
    assert lines == [
        "lws-system/lws-controller-manager (lws): registry.k8s.io/lws/lws:v0.9.0, 1 available",
        "keda/keda-operator (keda): ghcr.io/kedacore/keda:2.20.2, 1 available",
    ]


def test_a_missing_controller_fails() -> None:
    seen = running()
    del seen[("keda", "keda-operator")]
    with pytest.raises(CheckFailed, match=r"keda/keda-operator \(keda\) is missing"):
        judge_pinned([LWS, KEDA], seen)


def test_other_images_fail() -> None:
    other = RunningController(("registry.k8s.io/lws/lws:v0.8.0",), 1)
    with pytest.raises(CheckFailed, match=r"runs \['registry.k8s.io/lws/lws:v0.8.0'\], pinned .*v0.9.0"):
        judge_pinned([LWS, KEDA], running(lws=other))


def test_no_available_replica_fails() -> None:
    with pytest.raises(CheckFailed, match=r"keda-operator \(keda\) has no available replica"):
        judge_pinned([LWS, KEDA], running(keda=RunningController(KEDA.images, 0)))


def test_nothing_expected_fails() -> None:
    with pytest.raises(CheckFailed, match="no stack controller is expected"):
        judge_pinned([], running())
