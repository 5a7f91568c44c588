"""AI service metrics (AI Conformance `ai_service_metrics`): the cluster's monitoring discovers the
inference groups and collects what their engines export. After exactly N requests answered by the
groups' leaders, `vllm:request_success_total` summed over the groups' pods in Prometheus is exactly N,
and each group's own count is what it answered.

suites/test_components.py runs it on scraped mock vLLM groups (harness/scenarios/components.py);
tests/cluster/test_components_negative.py runs it on the same groups without the scrape annotation,
where it must fail naming the groups Prometheus does not scrape.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from kubernetes import client

from harness.checks import CheckFailed
from harness.kube.client import Clients
from harness.kube.labels import LWS_GROUP_INDEX_LABEL, LWS_NAME_LABEL
from harness.kube.waits import WaitTimeout, wait_until
from harness.serving.manifests import PORT
from harness.stack import prometheus

SUCCESS = "vllm:request_success_total"
REQUEST_TIMEOUT = (5, 30)  # seconds to connect to the API server, to read the engine's answer through it


def judge_counted(sent: dict[str, int], counted: dict[str, float], unscraped: dict[str, list[str]]) -> str:
    """`sent`: group -> requests its leader answered; `counted`: group -> the success counter Prometheus
    holds for its pods (absent: no series); `unscraped`: group -> its pods that are no scrape target.
    Every group's count is what it answered, so the sum over the groups is exactly the requests sent."""
    total, want = sum(counted.values()), sum(sent.values())
    problems = []
    for group, n in sorted(sent.items()):
        if group not in counted:
            why = f"pods {unscraped[group]} are no scrape target" if unscraped.get(group) else "no series"
            problems.append(f"group {group}: answered {n}, Prometheus has no {SUCCESS} for it ({why})")
        elif counted[group] != n:
            problems.append(f"group {group}: answered {n}, Prometheus counts {counted[group]:g}")
    if problems or total != want:
        raise CheckFailed(
            f"{SUCCESS} summed over the groups is {total:g} after {want} requests:\n  " + "\n  ".join(problems),
            figures={"requests_sent": want, "requests_counted": total},
        )
    return f"{SUCCESS} summed over {len(sent)} groups: {total:g} = {want} requests answered"


def send_completions(kube: Clients, namespace: str, leaders: list[str], requests: int, model: str) -> dict[str, int]:
    """`requests` completions, round robin over the leader pods, through the API server's pod proxy;
    returns leader -> requests answered 200. Any other answer fails the check: the count would be moot."""
    answered = dict.fromkeys(leaders, 0)
    for i in range(requests):
        leader = leaders[i % len(leaders)]
        status, body = _post(
            kube, namespace, leader, "v1/completions", {"model": model, "prompt": "hi", "max_tokens": 4}
        )
        if status != 200:
            raise CheckFailed(f"request {i + 1} of {requests} to {leader}: HTTP {status}: {body[:300]!r}")
        answered[leader] += 1
    return answered


def counted_by_group(kube: Clients, namespace: str, lws: str) -> dict[str, float]:
    """Group (its leader pod's name) -> the success counter Prometheus holds, summed over its pods."""
    result = prometheus.query(kube, f'sum by (pod) ({SUCCESS}{{namespace="{namespace}"}})')
    group_of = pod_groups(kube, namespace, lws)
    counted: dict[str, float] = {}
    for series in result:
        group = group_of.get(series["metric"].get("pod", ""))
        if group is not None:
            counted[group] = counted.get(group, 0.0) + float(series["value"][1])
    return counted


def pod_groups(kube: Clients, namespace: str, lws: str) -> dict[str, str]:
    """Pod -> its group, named by the group's leader pod (`<lws>-<g>`)."""
    pods = kube.core.list_namespaced_pod(namespace, label_selector=f"{LWS_NAME_LABEL}={lws}").items
    return {p.metadata.name: f"{lws}-{(p.metadata.labels or {})[LWS_GROUP_INDEX_LABEL]}" for p in pods}


def unscraped_pods(kube: Clients, namespace: str, lws: str) -> dict[str, list[str]]:
    """Group -> its pods that are no active scrape target of Prometheus."""
    targets = prometheus.api(kube, "api/v1/targets", state="active")["data"]["activeTargets"]
    scraped = {t["labels"].get("pod") for t in targets if t["labels"].get("namespace") == namespace}
    missing: dict[str, list[str]] = {}
    for pod, group in sorted(pod_groups(kube, namespace, lws).items()):
        if pod not in scraped:
            missing.setdefault(group, []).append(pod)
    return missing


def requests_counted(kube: Clients, namespace: str, lws: str, sent: dict[str, int], timeout: float = 60) -> str:
    """Wait (bounded) until Prometheus' count reaches the requests sent, then judge it group by group."""
    want = sum(sent.values())
    counted: dict[str, float] = {}

    def reached() -> tuple[bool, str]:
        nonlocal counted
        try:
            counted = counted_by_group(kube, namespace, lws)
        except (RuntimeError, ValueError) as e:  # Prometheus answering with an error status or a cut body
            return False, f"{type(e).__name__}: {e}"
        return sum(counted.values()) >= want, f"counted {counted or 'nothing'}"

    with suppress(WaitTimeout):  # judged below on the last count, with the groups Prometheus does not scrape
        wait_until(reached, timeout, f"Prometheus counts {want} requests in {namespace}", interval=2)
    return judge_counted(sent, counted, unscraped_pods(kube, namespace, lws))


def _post(kube: Clients, namespace: str, pod: str, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
    method, url, headers, data, _ = kube.api.param_serialize(
        "POST",
        f"/api/v1/namespaces/{namespace}/pods/{pod}:{PORT}/proxy/{path}",
        header_params={"Content-Type": "application/json"},
        body=body,
        auth_settings=["BearerToken"],
    )
    try:
        resp = kube.api.call_api(method, url, header_params=headers, body=data, _request_timeout=REQUEST_TIMEOUT)
    except client.ApiException as e:
        return e.status or 0, str(e).encode()
    return resp.status, resp.read()
