"""The smoke checks' set-up (suites/test_smoke.py), shared with their negative controls
(tests/cluster/test_smoke_negative.py): one busybox web server per worker, each answering with its
node's name, pinned to that worker by its hostname label or (`pinned=False`) left to the scheduler.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from harness import timeouts
from harness.builders.core import web_pod
from harness.checks import CheckFailed
from harness.checks.smoke import WEB_PORT, WebPods
from harness.kube.client import Clients
from harness.kube.namespaces import scratch_namespace
from harness.kube.objects import create
from harness.kube.pods import wait_ready
from harness.kube.waits import WaitTimeout
from harness.spec import Testbed


def start_web_pods(kube: Clients, spec: Testbed, namespace: str, pinned: bool = True) -> WebPods:
    """Pod `web-<i>` for the spec's i-th worker, meant to run there; all Ready."""
    by_node = {}
    for i, node in enumerate(spec.workers):
        pod = web_pod(f"web-{i}", node.name, WEB_PORT)
        if not pinned:
            del pod["spec"]["nodeSelector"]
        create(kube, pod, namespace)
        by_node[node.name] = pod["metadata"]["name"]
    try:
        seconds = wait_ready(kube.core, namespace, list(by_node.values()), timeouts.POD_READY)
    except WaitTimeout as e:
        raise CheckFailed(f"not every worker runs a pod: {e}") from None
    return WebPods(namespace, by_node, seconds)


@contextmanager
def web_pods(kube: Clients, spec: Testbed, prefix: str, pinned: bool = True) -> Iterator[WebPods]:
    """The web pods in a scratch namespace, removed with it."""
    with scratch_namespace(kube.core, prefix) as ns:
        yield start_web_pods(kube, spec, ns, pinned)
