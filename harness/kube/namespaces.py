"""Namespaces the harness creates for a check: labelled, and removed afterwards (bounded)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from harness import timeouts
from harness.kube.waits import wait_until

OWNER_LABEL = "llm-conformance.io/owned"
# Which harness run made it: the run's safety net (harness/cluster/existing.py) removes only its own.
RUN_LABEL = "llm-conformance.io/run"
RUN_ID = secrets.token_hex(4)
# Called with a scratch namespace's name when the code inside it raised, before the namespace is
# deleted: the report (harness/report/session.py) saves its pods' logs for the failed check.
FAILURE_HOOKS: list[Callable[[str], None]] = []


@contextmanager
def scratch_namespace(core: client.CoreV1Api, prefix: str, timeout: float = timeouts.GONE) -> Iterator[str]:
    name = f"llmc-{prefix}-{secrets.token_hex(3)}"
    core.create_namespace({"metadata": {"name": name, "labels": {OWNER_LABEL: "true", RUN_LABEL: RUN_ID}}})
    try:
        yield name
    except BaseException:
        for hook in FAILURE_HOOKS:
            hook(name)
        raise
    finally:
        core.delete_namespace(name)
        skip_graceful_ends(core, name)

        def gone() -> tuple[bool, str]:
            try:
                ns = core.read_namespace(name)
            except ApiException as e:
                if e.status == 404:
                    return True, "deleted"
                raise
            return False, f"phase {ns.status.phase}"

        wait_until(gone, timeout, f"namespace {name} deleted", interval=1)


def skip_graceful_ends(core: client.CoreV1Api, namespace: str) -> None:
    """The namespace is being deleted, after its check: its pods' preStop hooks and engine drains
    (up to 25 s a pod) have nothing left to prove, so its pods go at once (a terminating namespace
    lets nothing recreate them). Pods holding DRA claims keep their graceful end, so that the kubelet
    unprepares their devices before the claims free them for the next check."""
    for pod in core.list_namespaced_pod(namespace).items:
        if pod.spec is not None and not pod.spec.resource_claims:
            with suppress(ApiException):  # gone already
                core.delete_namespaced_pod(pod.metadata.name, namespace, grace_period_seconds=0)
