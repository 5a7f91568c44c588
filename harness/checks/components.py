"""Component checks: each stack controller does its job on the real cluster. Each raises CheckFailed
with the evidence, or returns its figure (seconds).

suites/test_components.py runs them; tests/cluster/test_components_negative.py runs each on a setup
where its claim is false (a group of the wrong shape, a quota too small, a metric that never crosses
the threshold, a pod nobody scrapes) and expects CheckFailed.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from harness import timeouts
from harness.checks import CheckFailed
from harness.kube.client import Clients
from harness.kube.labels import (
    KEDA_API,
    KUEUE_API,
    LWS_API,
    LWS_GROUP_INDEX_LABEL,
    LWS_NAME_LABEL,
    LWS_WORKER_INDEX_LABEL,
)
from harness.kube.pods import describe
from harness.kube.waits import WaitTimeout, wait_until
from harness.stack import prometheus
from harness.stack.component import diagnostics
from harness.stack.controllers import Controller

LWS_LABELS = (LWS_NAME_LABEL, LWS_GROUP_INDEX_LABEL, LWS_WORKER_INDEX_LABEL)


# --- LeaderWorkerSet --------------------------------------------------------------------------------


def lws_groups_formed(
    kube: Clients, namespace: str, name: str, groups: int, size: int, timeout: float = timeouts.GROUP_WHOLE
) -> float:
    """The LWS made exactly `groups` * `size` pods named `<lws>-<g>` (leader) and `<lws>-<g>-<w>`
    (workers), each with the LWS name/group/worker labels and `LWS_*` env, all Running."""
    selector = f"{LWS_LABELS[0]}={name}"

    group, version = LWS_API.split("/")

    def settled() -> tuple[bool, str]:
        # The controller's own verdict (every group ready), then the pods: a wrong shape is then
        # reported by name below instead of as a timeout.
        obj: Any = client.CustomObjectsApi(kube.api).get_namespaced_custom_object(
            group, version, namespace, "leaderworkersets", name
        )
        ready = obj.get("status", {}).get("readyReplicas", 0)
        pods = kube.core.list_namespaced_pod(namespace, label_selector=selector).items
        not_running = [describe(p) for p in pods if p.status.phase != "Running"]
        done = ready == groups and not not_running
        return done, f"{ready}/{groups} groups ready, {len(pods)} pods; " + " | ".join(not_running)

    try:
        seconds = wait_until(settled, timeout, f"LWS {name}: {groups} groups ready", interval=2)
    except WaitTimeout as e:
        raise CheckFailed(f"{e}\n{diagnostics(kube, namespace)}") from None
    pods = {
        p.metadata.name: LwsPod(p.metadata.labels or {}, {e.name: e.value for e in p.spec.containers[0].env or []})
        for p in kube.core.list_namespaced_pod(namespace, label_selector=selector).items
    }
    check_lws_shape(namespace, name, groups, size, pods)
    return seconds


@dataclass(frozen=True)
class LwsPod:
    labels: dict[str, str]
    env: dict[str, str | None]  # the first container's environment


def check_lws_shape(namespace: str, name: str, groups: int, size: int, pods: dict[str, LwsPod]) -> None:
    """The LWS's pods (name -> labels, env) are exactly `groups` * `size`, named `<lws>-<g>` (leader)
    and `<lws>-<g>-<w>` (workers), each with the LWS name/group/worker labels and `LWS_*` env."""
    expected = {(g, w): f"{name}-{g}" if w == 0 else f"{name}-{g}-{w}" for g in range(groups) for w in range(size)}
    problems = []
    if set(pods) != set(expected.values()):
        problems.append(f"pod names {sorted(pods)}, expected {sorted(expected.values())}")
    for (g, w), pod_name in expected.items():
        pod = pods.get(pod_name)
        if pod is None:
            continue
        want_labels = dict(zip(LWS_LABELS, (name, str(g), str(w)), strict=True))
        wrong = {k: pod.labels.get(k) for k, v in want_labels.items() if pod.labels.get(k) != v}
        if wrong:
            problems.append(f"{pod_name} labels {wrong}, expected {want_labels}")
        want_env = {
            "LWS_LEADER_ADDRESS": f"{name}-{g}.{name}.{namespace}",
            "LWS_GROUP_SIZE": str(size),
            "LWS_WORKER_INDEX": str(w),
        }
        wrong_env = {k: pod.env.get(k) for k, v in want_env.items() if pod.env.get(k) != v}
        if wrong_env:
            problems.append(f"{pod_name} env {wrong_env}, expected {want_env}")
    if problems:
        raise CheckFailed(f"LWS {namespace}/{name} is not {groups} groups of {size}:\n  " + "\n  ".join(problems))


# --- Kueue ----------------------------------------------------------------------------------------------


def _workload_of(kube: Clients, namespace: str, job: str) -> dict[str, Any] | None:
    group, version = KUEUE_API.split("/")
    items: Any = client.CustomObjectsApi(kube.api).list_namespaced_custom_object(group, version, namespace, "workloads")
    for wl in items["items"]:
        if any(ref.get("name") == job for ref in wl["metadata"].get("ownerReferences", [])):
            return dict(wl)
    return None


def _conditions(wl: dict[str, Any] | None) -> dict[str, str]:
    conditions = (wl or {}).get("status", {}).get("conditions", [])
    return {c["type"]: f"{c['status']} ({c.get('reason')}: {c.get('message', '')})" for c in conditions}


def _admitted(wl: dict[str, Any] | None) -> bool:
    return _conditions(wl).get("Admitted", "").startswith("True")


def all_admitted(workloads: list[dict[str, Any]], count: int) -> tuple[bool, str]:
    """Whether exactly `count` Workloads exist and all are admitted, and each one's Admitted condition."""
    states = {wl["metadata"]["name"]: _conditions(wl).get("Admitted", "no condition") for wl in workloads}
    done = sum(s.startswith("True") for s in states.values()) == count == len(states)
    return done, f"workloads {states or 'none'}"


def job_admitted(kube: Clients, namespace: str, job: str, timeout: float = timeouts.REACTION) -> float:
    """Kueue admits the job's Workload (condition Admitted) and unsuspends the job."""

    def admitted() -> tuple[bool, str]:
        wl = _workload_of(kube, namespace, job)
        suspended = kube_job_suspended(kube, namespace, job)
        return _admitted(
            wl
        ) and not suspended, f"workload {_conditions(wl) or 'not created'}; job suspended={suspended}"

    try:
        return wait_until(admitted, timeout, f"Kueue admits job {namespace}/{job}", interval=1)
    except WaitTimeout as e:
        raise CheckFailed(str(e)) from None


# A window that proves a negative: Kueue decides on a Workload in the first scheduling cycle after it
# exists (well under a second here) and again whenever its queue changes; a Kueue that admits over
# the quota does so in one of those cycles. 20 s after Kueue's first word covers many of them on a
# busy testbed.
HOLD = 20


def job_held(kube: Clients, namespace: str, job: str, hold: float = HOLD) -> str:
    """Kueue keeps the job's Workload pending (not admitted, job suspended) for `hold` seconds once it
    has evaluated it (HOLD: why that suffices); returns Kueue's reason."""

    def created() -> tuple[bool, str]:
        wl = _workload_of(kube, namespace, job)
        return wl is not None and bool(_conditions(wl)), f"workload {_conditions(wl) or 'not created'}"

    try:
        wait_until(created, timeouts.REACTION, f"Kueue evaluates job {namespace}/{job}", interval=1)
    except WaitTimeout as e:
        raise CheckFailed(str(e)) from None

    wl: dict[str, Any] | None = None
    suspended = True

    def let_in() -> tuple[bool, str]:
        nonlocal wl, suspended
        wl, suspended = _workload_of(kube, namespace, job), kube_job_suspended(kube, namespace, job)
        return _admitted(wl) or not suspended, f"workload {_conditions(wl)}"

    with suppress(WaitTimeout):  # nothing let in for `hold` s is the passing outcome; judged on the last look
        wait_until(let_in, hold, f"job {namespace}/{job} admitted or started", interval=1)
    return check_held(f"{namespace}/{job}", wl, suspended)


def check_held(job: str, wl: dict[str, Any] | None, suspended: bool) -> str:
    """The job's Workload `wl` is not admitted and the job is still suspended; returns Kueue's reason."""
    if _admitted(wl) or not suspended:
        raise CheckFailed(
            f"Kueue admitted job {job}, which exceeds its queue's quota: {_conditions(wl)}; job suspended={suspended}"
        )
    return _conditions(wl).get("QuotaReserved", "pending")


def kube_job_suspended(kube: Clients, namespace: str, job: str) -> bool:
    return bool(client.BatchV1Api(kube.api).read_namespaced_job(job, namespace).spec.suspend)


# --- KEDA -----------------------------------------------------------------------------------------------


def scaled_to(kube: Clients, namespace: str, deployment: str, replicas: int, timeout: float = 120) -> float:
    """The deployment KEDA drives reaches `replicas` (desired and ready) within `timeout`."""

    def reached() -> tuple[bool, str]:
        d = kube.apps.read_namespaced_deployment(deployment, namespace)
        desired, ready = d.spec.replicas or 0, d.status.ready_replicas or 0
        return desired == replicas and ready == replicas, f"desired {desired}, ready {ready}"

    try:
        return wait_until(reached, timeout, f"KEDA scales {namespace}/{deployment} to {replicas}", interval=1)
    except WaitTimeout as e:
        raise CheckFailed(f"{e}\n{_scaling_evidence(kube, namespace)}") from None


def _scaling_evidence(kube: Clients, namespace: str) -> str:
    lines = []
    group, version = KEDA_API.split("/")
    try:
        objs: Any = client.CustomObjectsApi(kube.api).list_namespaced_custom_object(
            group, version, namespace, "scaledobjects"
        )
        for so in objs["items"]:
            conds = {
                c["type"]: f"{c['status']} {c.get('message', '')}" for c in so.get("status", {}).get("conditions", [])
            }
            lines.append(f"ScaledObject {so['metadata']['name']}: {conds}")
        for hpa in client.AutoscalingV2Api(kube.api).list_namespaced_horizontal_pod_autoscaler(namespace).items:
            metrics = [m.to_dict() for m in hpa.status.current_metrics or []]
            lines.append(f"HPA {hpa.metadata.name}: desired {hpa.status.desired_replicas}, metrics {metrics}")
    except ApiException as e:
        lines.append(f"(cannot read scaling objects: {e.reason})")
    return "\n".join(lines)


# --- Prometheus -----------------------------------------------------------------------------------------


def series_scraped(kube: Clients, promql: str, timeout: float = 60, namespace: str = "") -> list[dict[str, Any]]:
    """Prometheus returns at least one series for `promql` (from a pod it scraped) within `timeout`;
    on failure, says whether Prometheus scrapes any pod of `namespace` at all."""
    result: list[dict[str, Any]] = []

    def found() -> tuple[bool, str]:
        nonlocal result
        try:
            result = prometheus.query(kube, promql)
        except (RuntimeError, ValueError) as e:  # Prometheus not answering yet (an error status, a cut-off body)
            return False, f"{type(e).__name__}: {e}"
        return bool(result), f"{len(result)} series"

    try:
        wait_until(found, timeout, f"Prometheus has a series for {promql}", interval=2)
    except WaitTimeout as e:
        targets = prometheus.api(kube, "api/v1/targets", state="active")["data"]["activeTargets"]
        seen = [f"{t['labels'].get('pod')} {t['health']} {t.get('lastError', '')}" for t in targets]
        ours = [t for t in targets if namespace and t["labels"].get("namespace") == namespace]
        why = f"; no active scrape target in namespace {namespace}" if namespace and not ours else ""
        raise CheckFailed(f"{e}{why}; active scrape targets: {seen}") from None
    return result


@dataclass(frozen=True)
class RunningController:
    images: tuple[str, ...]
    available: int  # replicas


def judge_pinned(expected: list[Controller], running: dict[tuple[str, str], RunningController]) -> list[str]:
    """Every expected controller exists, runs exactly its pinned images and is available; returns one
    line of evidence per controller."""
    if not expected:
        raise CheckFailed("no stack controller is expected: nothing to compare against the pins")
    problems, seen = [], []
    for c in expected:
        r = running.get((c.namespace, c.name))
        if r is None:
            problems.append(f"{c} is missing: no Deployment {c.name} in {c.namespace}")
        elif set(r.images) != set(c.images):
            problems.append(f"{c} runs {list(r.images)}, pinned {list(c.images)}")
        elif not r.available:
            problems.append(f"{c} has no available replica")
        else:
            seen.append(f"{c}: {', '.join(c.images)}, {r.available} available")
    if problems:
        raise CheckFailed("stack controllers differ from the pins:\n  " + "\n  ".join(problems))
    return seen


def controllers_run_pinned_images(kube: Clients, expected: list[Controller]) -> list[str]:
    """Every controller the stack's pinned objects define runs there, on exactly the pinned images,
    and is Available; returns the evidence."""
    running = {}
    for namespace in sorted({c.namespace for c in expected}):
        for d in kube.apps.list_namespaced_deployment(namespace).items:
            images = tuple(sorted({c.image for c in d.spec.template.spec.containers}))
            running[(namespace, d.metadata.name)] = RunningController(images, d.status.available_replicas or 0)
    return judge_pinned(expected, running)


def workloads_admitted(kube: Clients, namespace: str, count: int, timeout: float = 90) -> float:
    """Kueue made and admitted `count` Workloads in the namespace (one per LWS group when an LWS
    carries a queue-name label: the LeaderWorkerSet integration at work)."""
    group, version = KUEUE_API.split("/")

    def admitted() -> tuple[bool, str]:
        items: Any = client.CustomObjectsApi(kube.api).list_namespaced_custom_object(
            group, version, namespace, "workloads"
        )
        return all_admitted(items["items"], count)

    try:
        return wait_until(admitted, timeout, f"{count} Kueue workloads admitted in {namespace}", interval=1)
    except WaitTimeout as e:
        raise CheckFailed(str(e)) from None
