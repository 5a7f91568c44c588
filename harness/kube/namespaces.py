"""Namespaces the harness creates for a check: labelled, and removed afterwards (bounded)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from harness.kube.waits import wait_until

OWNER_LABEL = "llm-conformance.io/owned"


@contextmanager
def scratch_namespace(core: client.CoreV1Api, prefix: str, timeout: float = 120) -> Iterator[str]:
    name = f"llmc-{prefix}-{secrets.token_hex(3)}"
    core.create_namespace({"metadata": {"name": name, "labels": {OWNER_LABEL: "true"}}})
    try:
        yield name
    finally:
        core.delete_namespace(name)

        def gone() -> tuple[bool, str]:
            try:
                ns = core.read_namespace(name)
            except ApiException as e:
                if e.status == 404:
                    return True, "deleted"
                raise
            return False, f"phase {ns.status.phase}"

        wait_until(gone, timeout, f"namespace {name} deleted", interval=2)
