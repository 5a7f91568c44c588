"""Robust controller (AI Conformance `robust_controller`): an operator with CRDs works end to end —
its controllers run, its CRDs are Established, its admission webhook refuses an invalid object with
its reason, and its controller reconciles a valid one.

suites/test_components.py runs it on LWS and Kueue (harness/scenarios/components.py says which
objects); tests/cluster/test_components_negative.py runs it with the operator's validating webhook
configuration removed, where the invalid object is accepted and the check must fail naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.dynamic import DynamicClient

from harness.checks import CheckFailed
from harness.kube.client import Clients, error_message
from harness.kube.pods import describe, is_ready
from harness.kube.waits import WaitTimeout, wait_until

Object = dict[str, Any]
# How the API server words a refusal by an admission webhook (as opposed to schema validation).
WEBHOOK_DENIED = "denied the request"


@dataclass(frozen=True)
class Operator:
    """What the check needs to know about one operator."""

    name: str  # lws, kueue
    namespace: str  # where its controllers and webhook service run
    group: str  # its CRDs' API group
    invalid: Object  # valid for the CRD schema, refused by the operator's validating webhook
    refusal: str  # part of the webhook's reason for refusing `invalid`
    valid: Object
    reconciled: Callable[[Object], tuple[bool, str]]  # from the valid object as read back: done, state
    reconcile_timeout: float = 120


@dataclass(frozen=True)
class Deployment:
    name: str
    available: bool
    pods: list[tuple[str, bool, str]]  # name, ready, description


def judge_controllers(operator: str, namespace: str, deployments: list[Deployment]) -> list[str]:
    """The operator's namespace has controller Deployments, each Available with every pod Ready."""
    if not deployments:
        raise CheckFailed(f"{operator}: no controller Deployment in namespace {namespace}")
    problems, seen = [], []
    for d in deployments:
        unready = [text for _, ready, text in d.pods if not ready]
        if not d.available or unready or not d.pods:
            problems.append(f"{namespace}/{d.name}: available={d.available}, pods not ready: {unready or 'no pods'}")
        else:
            seen.append(f"{namespace}/{d.name}: Available, pods {[name for name, _, _ in d.pods]} Ready")
    if problems:
        raise CheckFailed(f"{operator}: controllers not running:\n  " + "\n  ".join(problems))
    return seen


def judge_crds(operator: str, group: str, crds: dict[str, bool]) -> str:
    """The operator has CRDs in its group (name -> Established), every one Established."""
    if not crds:
        raise CheckFailed(f"{operator}: no CustomResourceDefinition of group {group}")
    pending = sorted(name for name, established in crds.items() if not established)
    if pending:
        raise CheckFailed(f"{operator}: CRDs not Established: {pending}")
    return f"{len(crds)} CRDs of {group} Established: {', '.join(sorted(crds))}"


def judge_refusal(operator: str, what: str, refusal: str, answer: str | None, webhooks: list[str]) -> str:
    """`answer` is the API server's message refusing the invalid object `what` (None: it was created).
    The refusal must come from an admission webhook and give the expected reason."""
    if answer is None:
        raise CheckFailed(
            f"{operator}: invalid {what} was accepted: no admission webhook refused it "
            f"(validating webhook configurations for {operator}: {webhooks or 'none'})"
        )
    if WEBHOOK_DENIED not in answer:
        raise CheckFailed(f"{operator}: invalid {what} was refused, but not by an admission webhook: {answer}")
    if refusal not in answer:
        raise CheckFailed(f"{operator}: invalid {what} was refused for another reason than {refusal!r}: {answer}")
    return f"invalid {what} refused: {answer}"


def operator_works(kube: Clients, op: Operator, namespace: str | None) -> tuple[list[str], float]:
    """The whole claim; returns the evidence and the seconds the valid object took to reconcile.
    `namespace` holds the namespaced objects (None: cluster-scoped ones, which the caller removes)."""
    evidence = judge_controllers(op.name, op.namespace, deployments(kube, op.namespace))
    evidence.append(judge_crds(op.name, op.group, crds(kube, op.group)))
    hooks = validating_webhooks(kube, op.namespace)
    evidence.append(f"validating webhook configurations: {hooks or 'none'}")
    evidence.append(judge_refusal(op.name, _what(op.invalid), op.refusal, refused(kube, op.invalid, namespace), hooks))
    seconds = reconciles(kube, op, namespace)
    evidence.append(f"valid {_what(op.valid)} reconciled in {seconds:.1f} s")
    return evidence, seconds


def deployments(kube: Clients, namespace: str) -> list[Deployment]:
    found = []
    pods = kube.core.list_namespaced_pod(namespace).items
    for d in kube.apps.list_namespaced_deployment(namespace).items:
        available = any(c.type == "Available" and c.status == "True" for c in d.status.conditions or [])
        selector = d.spec.selector.match_labels or {}
        mine = [p for p in pods if selector and selector.items() <= (p.metadata.labels or {}).items()]
        found.append(
            Deployment(d.metadata.name, available, [(p.metadata.name, is_ready(p), describe(p)) for p in mine])
        )
    return found


def crds(kube: Clients, group: str) -> dict[str, bool]:
    return {
        crd.metadata.name: any(c.type == "Established" and c.status == "True" for c in crd.status.conditions or [])
        for crd in client.ApiextensionsV1Api(kube.api).list_custom_resource_definition().items
        if crd.spec.group == group
    }


def validating_webhooks(kube: Clients, namespace: str) -> list[str]:
    """The ValidatingWebhookConfigurations whose webhooks call a service in `namespace`."""
    configs = client.AdmissionregistrationV1Api(kube.api).list_validating_webhook_configuration().items
    return sorted(
        c.metadata.name
        for c in configs
        if any(w.client_config.service and w.client_config.service.namespace == namespace for w in c.webhooks or [])
    )


def refused(kube: Clients, obj: Object, namespace: str | None, dry_run: bool = False) -> str | None:
    """Create `obj`; the API server's message if it refused it, None if it was created (then it is
    deleted again, so an accepted invalid object does not linger)."""
    resource = DynamicClient(kube.api).resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
    scope = namespace if resource.namespaced else None
    try:
        resource.create(body=obj, namespace=scope, dry_run="All" if dry_run else None)
    except Exception as e:  # the dynamic client raises its own ApiError types, with status and body
        status = getattr(e, "status", None)
        if not isinstance(status, int) or not 400 <= status < 500:
            raise
        return error_message(getattr(e, "body", None) or str(e))
    if not dry_run:
        resource.delete(name=obj["metadata"]["name"], namespace=scope)
    return None


def reconciles(kube: Clients, op: Operator, namespace: str | None) -> float:
    """Create the valid object and wait (bounded) until the operator's controller reconciled it."""
    resource = DynamicClient(kube.api).resources.get(api_version=op.valid["apiVersion"], kind=op.valid["kind"])
    scope = namespace if resource.namespaced else None
    resource.create(body=op.valid, namespace=scope)

    def done() -> tuple[bool, str]:
        obj = resource.get(name=op.valid["metadata"]["name"], namespace=scope).to_dict()
        return op.reconciled(obj)

    try:
        return wait_until(done, op.reconcile_timeout, f"{op.name} reconciles {_what(op.valid)}", interval=1)
    except WaitTimeout as e:
        raise CheckFailed(f"{op.name}: {e}") from None


def _what(obj: Object) -> str:
    return f"{obj['kind']} {obj['metadata']['name']}"


def conditions(obj: Object) -> dict[str, str]:
    """An object's status conditions, type -> status."""
    return {c["type"]: c["status"] for c in obj.get("status", {}).get("conditions", [])}
