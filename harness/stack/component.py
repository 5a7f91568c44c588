"""A stack component: its objects, and what makes it usable once applied.

Readiness is read off the objects themselves, so it cannot drift from what was installed:
every CustomResourceDefinition Established, every Deployment Available with all replicas updated,
every APIService Available, and, where the component has admission webhooks, a server-side dry-run
of a probe object answered by them (an answer, allowed or denied, not a failure to call them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient

from harness.kube.client import Clients, error_message
from harness.kube.conditions import condition, is_true
from harness.kube.objects import Object
from harness.kube.pods import describe
from harness.kube.waits import WaitTimeout, wait_until
from harness.supply import Mode

# How the API server reports a webhook it could not reach (service not ready, TLS not yet valid, ...).
NOT_ANSWERING = ("failed calling webhook", "no endpoints available", "connection refused")


@dataclass(frozen=True)
class Component:
    name: str
    version: str
    namespace: str
    manifests_url: str  # registry mode: the upstream release manifest
    objects: Callable[[Mode], list[Object]]  # what gets applied, in either mode
    images: tuple[str, ...]  # images the objects run (source mode builds them)
    webhook_probe: Object | None = None  # dry-run created to prove the webhooks answer
    after: tuple[str, ...] = ()  # components whose CRDs this one needs first
    extra_ready: Callable[[Clients], tuple[bool, str]] | None = None
    timeout: float = field(default=300)


def wait_usable(component: Component, objects: list[Object], kube: Clients, timeout: float) -> float:
    """Bounded; on timeout the error carries the namespace's pods, events and the failing pods' logs."""

    def check() -> tuple[bool, str]:
        pending = _not_ready(objects, kube)
        if not pending and component.webhook_probe is not None:
            pending = _webhook_silent(component.webhook_probe, kube)
        if not pending and component.extra_ready is not None:
            ok, seen = component.extra_ready(kube)
            pending = [] if ok else [seen]
        return not pending, "; ".join(pending) or "usable"

    try:
        return wait_until(check, timeout, f"{component.name} {component.version} usable", interval=2)
    except WaitTimeout as e:
        raise WaitTimeout(f"{e}\n{diagnostics(kube, component.namespace)}") from None


def _not_ready(objects: list[Object], kube: Clients) -> list[str]:
    ext = client.ApiextensionsV1Api(kube.api)
    reg = client.ApiregistrationV1Api(kube.api)
    pending = []
    for obj in objects:
        kind, meta = obj["kind"], obj["metadata"]
        if kind == "CustomResourceDefinition":
            crd = ext.read_custom_resource_definition(meta["name"])
            if not is_true(crd, "Established"):
                pending.append(f"CRD {meta['name']} not Established")
        elif kind == "Deployment":
            d = kube.apps.read_namespaced_deployment(meta["name"], meta["namespace"])
            want = d.spec.replicas or 0
            s = d.status
            if not is_true(d, "Available") or (s.updated_replicas or 0) < want or (s.ready_replicas or 0) < want:
                pending.append(
                    f"Deployment {meta['namespace']}/{meta['name']} ready {s.ready_replicas or 0}/{want}, "
                    f"updated {s.updated_replicas or 0}"
                )
        elif kind == "APIService":
            svc = reg.read_api_service(meta["name"])
            available = condition(svc, "Available")
            if not (available and available.status == "True"):
                pending.append(f"APIService {meta['name']} not Available: {available.message if available else ''}")
    return pending


def _webhook_silent(probe: Object, kube: Clients) -> list[str]:
    """[] once a dry-run of the probe reaches the webhooks and they answer."""
    resource = DynamicClient(kube.api).resources.get(api_version=probe["apiVersion"], kind=probe["kind"])
    try:
        resource.create(body=probe, namespace=probe["metadata"].get("namespace"), query_params=[("dryRun", "All")])
    except Exception as e:  # the dynamic client raises its own ApiError types
        body = getattr(e, "body", None) or str(e)
        message = error_message(body)
        if any(sign in message for sign in NOT_ANSWERING):
            return [f"webhook for {probe['kind']} not answering: {message[:300]}"]
        if getattr(e, "status", None) in (400, 403, 422):  # a webhook (or validation) said no: it answered
            return []
        return [f"dry-run {probe['kind']}: {message[:300]}"]
    return []


def diagnostics(kube: Clients, namespace: str, log_lines: int = 20) -> str:
    """The namespace's pods (state per container), its latest events, and logs of pods not Ready."""
    lines = [f"--- {namespace}: pods"]
    try:
        pods = kube.core.list_namespaced_pod(namespace).items
    except ApiException as e:
        return f"--- {namespace}: cannot list pods: {e.reason}"
    lines += [f"  {describe(p)}" for p in pods] or ["  (none)"]
    events = sorted(
        kube.core.list_namespaced_event(namespace).items,
        key=lambda ev: str(ev.last_timestamp or ev.event_time or ev.metadata.creation_timestamp),
    )
    lines.append(f"--- {namespace}: last events")
    for ev in events[-15:]:
        lines.append(f"  {ev.type} {ev.involved_object.kind}/{ev.involved_object.name}: {ev.reason} {ev.message}")
    for pod in pods:
        if is_true(pod, "Ready"):
            continue
        for container in pod.spec.containers:
            try:
                log = kube.core.read_namespaced_pod_log(
                    pod.metadata.name, namespace, container=container.name, tail_lines=log_lines
                )
            except ApiException as e:
                log = f"(no log: {e.reason})"
            lines.append(f"--- log {pod.metadata.name}/{container.name}")
            lines += [f"  {line}" for line in (log or "").splitlines()]
    return "\n".join(lines)
