"""Component checks on what the controllers produced: LWS pods, Kueue Workloads, a Deployment KEDA
scales, Prometheus' answers. Reads are faked where a check waits."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest

from harness.checks import CheckFailed, components
from harness.checks.components import LwsPod, all_admitted, check_held, check_lws_shape
from harness.kube.client import Clients

NO_CLUSTER = cast(Clients, None)  # every read the check makes is faked below
L = "leaderworkerset.sigs.k8s.io"


def lws_pods(name: str = "infer", groups: int = 2, size: int = 2, namespace: str = "ns") -> dict[str, LwsPod]:
    pods = {}
    for g in range(groups):
        for w in range(size):
            pods[f"{name}-{g}" if w == 0 else f"{name}-{g}-{w}"] = LwsPod(
                {f"{L}/name": name, f"{L}/group-index": str(g), f"{L}/worker-index": str(w)},
                {
                    "LWS_LEADER_ADDRESS": f"{name}-{g}.{name}.{namespace}",
                    "LWS_GROUP_SIZE": str(size),
                    "LWS_WORKER_INDEX": str(w),
                },
            )
    return pods


def test_lws_shape() -> None:
    check_lws_shape("ns", "infer", 2, 2, lws_pods())


def test_lws_shape_fails_on_the_wrong_pods() -> None:
    with pytest.raises(
        CheckFailed, match=r"LWS ns/infer is not 2 groups of 3:\n  pod names \[.*\], expected \[.*'infer-0-2'"
    ):
        check_lws_shape("ns", "infer", 2, 3, lws_pods())


def test_lws_shape_fails_on_a_label() -> None:
    pods = lws_pods()
    pods["infer-1-1"].labels[f"{L}/group-index"] = "0"
    with pytest.raises(CheckFailed, match=rf"infer-1-1 labels {{'{L}/group-index': '0'}}, expected"):
        check_lws_shape("ns", "infer", 2, 2, pods)


@pytest.mark.parametrize(
    ("name", "value"),
    [("LWS_LEADER_ADDRESS", "infer-0.infer.ns"), ("LWS_GROUP_SIZE", "3"), ("LWS_WORKER_INDEX", None)],
)
def test_lws_shape_fails_on_the_env(name: str, value: str | None) -> None:
    pods = lws_pods()
    pods["infer-1-1"].env[name] = value
    with pytest.raises(CheckFailed, match=rf"infer-1-1 env {{'{name}': {value!r}}}, expected"):
        check_lws_shape("ns", "infer", 2, 2, pods)


def workload(name: str, *conditions: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "ownerReferences": [{"name": name.removeprefix("job-")}]},
        "status": {"conditions": [{"type": t, "status": s, "reason": r, "message": ""} for t, s, r in conditions]},
    }


ADMITTED = ("Admitted", "True", "Admitted")
PENDING = ("QuotaReserved", "False", "Pending")


def test_all_admitted() -> None:
    assert all_admitted([workload("a", ADMITTED), workload("b", ADMITTED)], 2)[0]
    done, seen = all_admitted([workload("a", ADMITTED), workload("b", PENDING)], 2)
    assert not done and "'b': 'no condition'" in seen
    assert not all_admitted([workload("a", ADMITTED)] * 3, 2)[0]  # more Workloads than groups
    assert all_admitted([], 1) == (False, "workloads none")


def test_held() -> None:
    assert check_held("ns/j", workload("job-j", PENDING), suspended=True) == "False (Pending: )"


@pytest.mark.parametrize(
    ("wl", "suspended"),
    [(workload("job-j", ADMITTED), True), (workload("job-j", PENDING), False)],
    ids=["admitted", "unsuspended"],
)
def test_held_fails(wl: dict[str, Any], suspended: bool) -> None:
    with pytest.raises(
        CheckFailed, match=rf"Kueue admitted job ns/j, which exceeds its queue's quota: .*suspended={suspended}"
    ):
        check_held("ns/j", wl, suspended)


def fake_kueue(monkeypatch: pytest.MonkeyPatch, wl: Any, suspended: bool) -> None:
    monkeypatch.setattr(components, "_workload_of", lambda kube, namespace, job: wl() if callable(wl) else wl)
    monkeypatch.setattr(components, "kube_job_suspended", lambda kube, namespace, job: suspended)


def test_job_held_reads_then_judges(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_kueue(monkeypatch, workload("job-j", PENDING), suspended=True)
    assert components.job_held(NO_CLUSTER, "ns", "j", hold=0) == "False (Pending: )"
    fake_kueue(monkeypatch, workload("job-j", PENDING, ADMITTED), suspended=False)
    with pytest.raises(CheckFailed, match="Kueue admitted job ns/j"):
        components.job_held(NO_CLUSTER, "ns", "j", hold=5)


def test_job_held_propagates_a_broken_read_instead_of_passing(monkeypatch: pytest.MonkeyPatch) -> None:
    first = [workload("job-j", PENDING)]
    fake_kueue(monkeypatch, lambda: first.pop() if first else {}["items"], suspended=True)
    with pytest.raises(KeyError):  # at once, not after `hold` as "held"
        components.job_held(NO_CLUSTER, "ns", "j", hold=30)


def test_job_admitted(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_kueue(monkeypatch, workload("job-j", ADMITTED), suspended=False)
    assert components.job_admitted(NO_CLUSTER, "ns", "j", timeout=5) < 5
    fake_kueue(monkeypatch, workload("job-j", PENDING), suspended=True)
    with pytest.raises(CheckFailed, match=r"Kueue admits job ns/j: not reached .*suspended=True"):
        components.job_admitted(NO_CLUSTER, "ns", "j", timeout=0)


def deployments(desired: int, ready: int) -> Clients:
    d = SimpleNamespace(spec=SimpleNamespace(replicas=desired), status=SimpleNamespace(ready_replicas=ready))
    return cast(Clients, SimpleNamespace(apps=SimpleNamespace(read_namespaced_deployment=lambda name, namespace: d)))


def test_scaled_to(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(components, "_scaling_evidence", lambda kube, namespace: "ScaledObject target: {}")
    assert components.scaled_to(deployments(3, 3), "ns", "target", 3, timeout=5) < 5
    with pytest.raises(CheckFailed, match=r"KEDA scales ns/target to 3: .*desired 1, ready 1\nScaledObject target"):
        components.scaled_to(deployments(1, 1), "ns", "target", 3, timeout=0)
    with pytest.raises(CheckFailed, match=r"desired 3, ready 2"):
        components.scaled_to(deployments(3, 2), "ns", "target", 3, timeout=0)


def test_series_scraped_waits_through_prometheus_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    answers: list[Any] = [
        RuntimeError("Prometheus api/v1/query: HTTP 503"),
        [{"metric": {"pod": "p"}, "value": [0, "1"]}],
    ]

    def query(kube: Clients, promql: str) -> list[dict[str, Any]]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return cast(list[dict[str, Any]], answer)

    monkeypatch.setattr(components.prometheus, "query", query)
    assert components.series_scraped(NO_CLUSTER, "up", timeout=5) == [{"metric": {"pod": "p"}, "value": [0, "1"]}]


def test_series_scraped_fails_with_the_scrape_targets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(components.prometheus, "query", lambda kube, promql: [])
    targets = {"data": {"activeTargets": [{"labels": {"pod": "exporter"}, "health": "down", "lastError": "refused"}]}}
    monkeypatch.setattr(components.prometheus, "api", lambda kube, path, **params: targets)
    with pytest.raises(
        CheckFailed,
        match=r"Prometheus has a series for up: not reached .*active scrape targets: \['exporter down refused'\]",
    ):
        components.series_scraped(NO_CLUSTER, "up", timeout=0)
