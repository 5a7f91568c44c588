"""Pods: wait for them, run commands in them, and say what they look like when something is off."""

from __future__ import annotations

import time

from kubernetes import client
from kubernetes.stream import stream

from harness.kube.conditions import is_true
from harness.kube.waits import wait_until


def describe(pod: client.V1Pod) -> str:
    """One line: phase, node, and the reason each container is not running."""
    parts = [f"{pod.metadata.name}: {pod.status.phase} on {pod.spec.node_name or '(unscheduled)'}"]
    for cs in pod.status.container_statuses or []:
        waiting = cs.state.waiting if cs.state else None
        if waiting:
            parts.append(f"{cs.name} waiting: {waiting.reason} {waiting.message or ''}".strip())
    for cond in pod.status.conditions or []:
        if cond.status != "True" and cond.message:
            parts.append(f"{cond.type}: {cond.message}")
    return "; ".join(parts)


def is_ready(pod: client.V1Pod) -> bool:
    return is_true(pod, "Ready")


def wait_ready(core: client.CoreV1Api, namespace: str, names: list[str], timeout: float) -> float:
    """Every named pod Running and Ready; returns seconds taken."""

    def check() -> tuple[bool, str]:
        pods = {p.metadata.name: p for p in core.list_namespaced_pod(namespace).items}
        pending = []
        for name in names:
            pod = pods.get(name)
            if pod is None or not is_ready(pod):
                pending.append(describe(pod) if pod else f"{name}: not created")
        return not pending, " | ".join(pending)

    return wait_until(check, timeout, f"pods {names} Ready in {namespace}", interval=1)


def run_in(
    core: client.CoreV1Api, namespace: str, pod: str, command: list[str], timeout: float = 30
) -> tuple[int, str]:
    """Run a command in a pod's first container; returns (exit code, stdout+stderr). Bounded by timeout."""
    resp = stream(
        core.connect_get_namespaced_pod_exec,
        pod,
        namespace,
        command=command,
        stderr=True,
        stdout=True,
        stdin=False,
        tty=False,
        _preload_content=False,
    )
    deadline = time.monotonic() + timeout
    output = []
    try:
        while resp.is_open():
            resp.update(timeout=1)
            if resp.peek_stdout():
                output.append(resp.read_stdout())
            if resp.peek_stderr():
                output.append(resp.read_stderr())
            if time.monotonic() > deadline:
                return -1, "".join(output) + f"\n(no exit within {timeout:.0f} s)"
        code = resp.returncode
    finally:
        resp.close()
    return (code if code is not None else -1), "".join(output)
