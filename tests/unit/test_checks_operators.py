"""The robust-controller check's judgments, one test per reason it fails: controllers not running,
CRDs not Established, an invalid object accepted or refused by something other than the webhook."""

from __future__ import annotations

import pytest

from harness.checks import CheckFailed
from harness.checks.operators import Deployment, judge_controllers, judge_crds, judge_refusal

DENIED = (
    'admission webhook "vleaderworkerset.kb.io" denied the request: spec.rolloutStrategy.rollingUpdateConfiguration'
    ".maxUnavailable: Invalid value: 0: must not be 0 when `maxSurge` is 0"
)
REFUSAL = "must not be 0 when `maxSurge` is 0"


def test_running_controllers_are_the_evidence() -> None:
    lines = judge_controllers("lws", "lws-system", [Deployment("lws-controller-manager", True, [("p", True, "")])])
    assert lines == ["lws-system/lws-controller-manager: Available, pods ['p'] Ready"]


@pytest.mark.parametrize(
    ("deployments", "match"),
    [
        ([], "lws: no controller Deployment in namespace lws-system"),
        ([Deployment("m", False, [("p", True, "")])], r"controllers not running:\n  lws-system/m: available=False"),
        ([Deployment("m", True, [("p", False, "p: Pending on (unscheduled)")])], r"pods not ready: \['p: Pending"),
        ([Deployment("m", True, [])], "no pods"),
    ],
)
def test_controllers_that_do_not_run_fail(deployments: list[Deployment], match: str) -> None:
    with pytest.raises(CheckFailed, match=match):
        judge_controllers("lws", "lws-system", deployments)


def test_crds_must_exist_and_be_established() -> None:
    assert judge_crds("kueue", "kueue.x-k8s.io", {"b.kueue.x-k8s.io": True, "a.kueue.x-k8s.io": True}).startswith(
        "2 CRDs of kueue.x-k8s.io Established: a.kueue.x-k8s.io, b"
    )
    with pytest.raises(CheckFailed, match=r"kueue: no CustomResourceDefinition of group kueue\.x-k8s\.io"):
        judge_crds("kueue", "kueue.x-k8s.io", {})
    with pytest.raises(CheckFailed, match=r"CRDs not Established: \['w.kueue.x-k8s.io'\]"):
        judge_crds("kueue", "kueue.x-k8s.io", {"w.kueue.x-k8s.io": False, "c.kueue.x-k8s.io": True})


def test_a_webhook_refusal_with_its_reason_passes() -> None:
    assert judge_refusal("lws", "LeaderWorkerSet invalid", REFUSAL, DENIED, ["v"]) == (
        f"invalid LeaderWorkerSet invalid refused: {DENIED}"
    )


def test_an_accepted_invalid_object_fails_naming_it() -> None:
    with pytest.raises(
        CheckFailed,
        match=r"lws: invalid LeaderWorkerSet invalid was accepted: no admission webhook refused it "
        r"\(validating webhook configurations for lws: none\)",
    ):
        judge_refusal("lws", "LeaderWorkerSet invalid", REFUSAL, None, [])


def test_a_refusal_by_the_schema_is_not_the_webhook() -> None:
    schema = 'LeaderWorkerSet.leaderworkerset.x-k8s.io "invalid" is invalid: spec.replicas: Invalid value'
    with pytest.raises(CheckFailed, match="was refused, but not by an admission webhook"):
        judge_refusal("lws", "LeaderWorkerSet invalid", REFUSAL, schema, ["v"])


def test_a_webhook_refusal_for_another_reason_fails() -> None:
    other = 'admission webhook "v" denied the request: metadata.name: Invalid value'
    with pytest.raises(CheckFailed, match="refused for another reason than"):
        judge_refusal("lws", "LeaderWorkerSet invalid", REFUSAL, other, ["v"])
