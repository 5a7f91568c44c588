"""Gang checks on observations: pods bound per group over time, and Kueue Workloads as dicts."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest

from harness.checks import CheckFailed, gang
from harness.checks.gang import (
    Binding,
    Requeue,
    check_evicted_and_requeued,
    check_no_partial_group,
    check_one_whole_others_wait,
    check_preempted_as_unit,
    check_requeued,
    check_whole_or_nothing,
    sample,
)
from harness.kube.client import Clients

SIZE = 3
HOLD = 10


def binding(**counts: list[int]) -> Binding:
    """Groups by name, each with its pods-bound count once a second from t=0."""
    return Binding(SIZE, {g: [(float(t), float(n)) for t, n in enumerate(c)] for g, c in counts.items()})


def test_partial_seconds_is_the_unbroken_partial_stretch_up_to_now() -> None:
    b = binding(a=[1, 2, 0, 1, 2, 2], b=[0, 3, 3], c=[2, 2, 3])
    assert b.partial_seconds("a") == 2.0  # t=3..5, after the break at t=2
    assert b.partial_seconds("b") == 0.0 and b.partial_seconds("c") == 0.0
    assert b.partial_seconds("unknown") == 0.0
    assert b.last("a") == 2 and b.last("unknown") == 0


def test_no_partial_group_allows_a_short_passage_through_partial_counts() -> None:
    check_no_partial_group(binding(a=[0, 1, 2, 3], b=[0] * 20), HOLD)


def test_no_partial_group_fails_on_a_group_held_partial() -> None:
    with pytest.raises(CheckFailed, match=r"^group a: 2/3 pods bound for 11 s: partial placement$"):
        check_no_partial_group(binding(a=[0] + [2] * 12, b=[3] * 13), HOLD)


def test_whole_or_nothing_passes_with_nothing_bound_and_returns_the_figure() -> None:
    assert check_whole_or_nothing(binding(big=[0] * 20), HOLD) == {"pods_bound_of_group_that_does_not_fit": 0.0}


def test_whole_or_nothing_fails_on_partial_placement_with_the_figure() -> None:
    with pytest.raises(CheckFailed, match=r"group big: 2/3 pods bound for 14 s: partial placement") as failed:
        check_whole_or_nothing(binding(big=[2] * 15), HOLD)
    assert failed.value.figures == {"pods_bound_of_group_that_does_not_fit": 2.0}


def test_whole_or_nothing_fails_on_a_group_bound_although_it_cannot_fit() -> None:
    b = binding(big=[0, 3, 3])
    b.created = {"big": 3}
    with pytest.raises(
        CheckFailed, match=r"groups \['big'\] bound although they cannot fit: big: 3/3 bound, 3 created"
    ):
        check_whole_or_nothing(b, HOLD)


def test_whole_or_nothing_fails_on_a_group_bound_partially_for_less_than_hold() -> None:
    with pytest.raises(CheckFailed, match=r"groups \['big'\] bound although") as failed:
        check_whole_or_nothing(binding(big=[0, 1]), HOLD)
    assert failed.value.figures == {"pods_bound_of_group_that_does_not_fit": 1.0}


def test_one_whole_others_wait_returns_the_running_group() -> None:
    assert check_one_whole_others_wait(binding(a=[0, 0], b=[1, 3], c=[0, 0]), HOLD) == "b"


@pytest.mark.parametrize(
    "counts",
    [
        {"a": [0, 0], "b": [0, 0]},  # none whole
        {"a": [3, 3], "b": [3, 3]},  # two whole on the same GPUs
        {"a": [3, 3], "b": [0, 1]},  # one whole, the other not waiting whole (yet partial for < hold)
    ],
    ids=["none-whole", "two-whole", "other-not-waiting"],
)
def test_one_whole_others_wait_fails(counts: dict[str, list[int]]) -> None:
    with pytest.raises(CheckFailed, match="want exactly one group whole and the others waiting whole: a: "):
        check_one_whole_others_wait(binding(**counts), HOLD)


def test_one_whole_others_wait_fails_on_partial_placement() -> None:
    with pytest.raises(CheckFailed, match="partial placement"):
        check_one_whole_others_wait(binding(a=[3] * 12, b=[1] * 12), HOLD)


def test_preempted_as_unit() -> None:
    check_preempted_as_unit(binding(low=[3, 0], high=[0, 3]), "low", "high", HOLD)
    with pytest.raises(
        CheckFailed, match=r"want high whole and low fully evicted: low: 0/3 bound, 0 created, high: 2/3"
    ):
        check_preempted_as_unit(binding(low=[3, 0], high=[0, 2]), "low", "high", HOLD)
    with pytest.raises(CheckFailed, match=r"want high whole and low fully evicted: low: 1/3 bound"):
        check_preempted_as_unit(binding(low=[3, 1], high=[0, 3]), "low", "high", HOLD)
    with pytest.raises(CheckFailed, match=r"group low: 1/3 pods bound for 11 s: partial placement"):
        check_preempted_as_unit(binding(low=[1] * 12, high=[3] * 12), "low", "high", HOLD)


def test_sample_counts_the_pods_with_a_node() -> None:
    def pod(node: str | None) -> Any:
        return SimpleNamespace(spec=SimpleNamespace(node_name=node))

    b = Binding(SIZE)
    sample(lambda: {"a": [pod("n1"), pod(None), pod("n2")]}, b, ["a", "b"])
    assert b.last("a") == 2 and b.created == {"a": 3, "b": 0} and b.last("b") == 0


def workload(*conditions: dict[str, str], requeue_at: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"conditions": list(conditions)}
    if requeue_at:
        status["requeueState"] = {"requeueAt": requeue_at, "count": 1}
    return {"status": status}


EVICTED = {
    "type": "Evicted",
    "status": "True",
    "reason": "PodsReadyTimeout",
    "message": "Exceeded the PodsReady timeout",
    "lastTransitionTime": "2026-01-01T00:00:10Z",
}


def test_requeued_with_its_backoff() -> None:
    got = check_requeued("wl", workload(EVICTED, requeue_at="2026-01-01T00:00:25Z"))
    assert got == Requeue(evicted_at=1767225610.0, requeue_at=1767225625.0)
    requeued = {"type": "Requeued", "status": "True", "reason": "BackoffFinished"}
    assert check_requeued("wl", workload(EVICTED, requeued)).requeue_at is None


def test_requeued_fails_when_not_evicted() -> None:
    admitted = {"type": "Admitted", "status": "True", "reason": "Admitted"}
    with pytest.raises(CheckFailed, match=r"workload wl not evicted: Admitted=True Admitted"):
        check_requeued("wl", workload(admitted))


def test_requeued_fails_when_evicted_for_another_reason() -> None:
    preempted = {**EVICTED, "reason": "Preempted", "message": "Preempted to accommodate a higher priority Workload"}
    with pytest.raises(CheckFailed, match=r"wl evicted for Preempted, not PodsReadyTimeout: Preempted to accommodate"):
        check_requeued("wl", workload(preempted, requeue_at="2026-01-01T00:00:25Z"))


def test_requeued_fails_when_evicted_but_not_requeued() -> None:
    with pytest.raises(CheckFailed, match=r"workload wl evicted but not requeued: Evicted=True PodsReadyTimeout"):
        check_requeued("wl", workload(EVICTED))


def test_evicted_and_requeued_fails_on_a_workload_never_evicted(monkeypatch: pytest.MonkeyPatch) -> None:
    admitted = {"type": "Admitted", "status": "True", "reason": "Admitted"}
    monkeypatch.setattr(gang, "workload", lambda kube, namespace, name: workload(admitted))
    with pytest.raises(CheckFailed, match=r"workload wl admitted but never evicted: the group hangs; .*Admitted=True"):
        check_evicted_and_requeued(cast(Clients, None), "ns", "wl", timeout=0)
