"""The restart checks' set-ups (suites/test_restart.py), shared with their negative controls
(tests/cluster/test_restart_negative.py): mock vLLM groups behind a NodePort Service, the
disruptions (a worker killed, the leader killed, a node stopped), and the LeaderReady observation.

LeaderReady is observed with sub-second times: a watch on the namespace's pods, open before the
LeaderWorkerSet is created, records when each worker's ADDED event and the leader's Ready transition
arrive, in the API server's order (`Startup`). `workers_after_leader_ready` judges it.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from kubernetes import watch

from harness import timeouts
from harness.builders.lws import LeaderWorkerSet
from harness.checks import CheckFailed
from harness.checks.restart import Seen, Startup, group_members, wait_group_formed
from harness.kube.client import Clients
from harness.kube.conditions import is_true
from harness.kube.labels import LWS_GROUP_INDEX_LABEL, LWS_NAME_LABEL
from harness.kube.namespaces import scratch_namespace
from harness.kube.node_faults import StoppedNode, out_of_service
from harness.kube.objects import Object, create
from harness.serving.manifests import PORT, Engine, leader_service, lws_leaders, mock_vllm_lws
from harness.spec.model import PortMapping

NAME, GROUPS, SIZE = "vllm", 2, 2
ENGINE = Engine(inter_token_latency_ms=5, shutdown_timeout_seconds=2, termination_grace_period_seconds=5)
RECREATE = "RecreateGroupOnPodRestart"  # LWS's default restartPolicy


@dataclass(frozen=True)
class Served:
    namespace: str
    host_port: int


@contextmanager
def served_groups(kube: Clients, port: PortMapping, prefix: str, restart_policy: str = RECREATE) -> Iterator[Served]:
    """GROUPS groups of SIZE (LWS NAME, `restart_policy`) behind a NodePort Service on `port` (the
    testbed's first), every ring formed, in a scratch namespace."""
    with scratch_namespace(kube.core, prefix) as ns:
        lws = mock_vllm_lws(NAME, size=SIZE, replicas=GROUPS, engine=ENGINE, restart_policy=restart_policy)
        create(kube, lws, ns)
        create(kube, leader_service(f"{NAME}-api", lws_leaders(NAME), port.node_port), ns)
        for group in range(GROUPS):
            wait_group_formed(kube, ns, NAME, group, SIZE, timeout=timeouts.GROUP_WHOLE)
        yield Served(ns, port.host_port)


def kill_worker(kube: Clients, namespace: str, group: int) -> None:
    kube.core.delete_namespaced_pod(f"{NAME}-{group}-1", namespace, grace_period_seconds=0)


def kill_leader(kube: Clients, namespace: str, group: int, orphan_workers: bool = False) -> None:
    """Delete the group's leader pod at once. Its workers' StatefulSet is owned by the leader pod, so
    they go with it (whatever the restartPolicy); `orphan_workers` keeps them (deletion propagation
    Orphan): the leader is replaced alone, as by a controller that does not restart groups."""
    propagation = "Orphan" if orphan_workers else None
    kube.core.delete_namespaced_pod(
        f"{NAME}-{group}", namespace, grace_period_seconds=0, propagation_policy=propagation
    )


def worker_node(kube: Clients, namespace: str, group: int) -> str:
    """The node of the group's first worker."""
    pods = group_members(kube, namespace, NAME, group)
    return str(next(p.spec.node_name for p in pods if p.metadata.name != f"{NAME}-{group}"))


def leader_node(kube: Clients, namespace: str, group: int) -> str:
    pods = group_members(kube, namespace, NAME, group)
    return str(next(p.spec.node_name for p in pods if p.metadata.name == f"{NAME}-{group}"))


def lose_node(kube: Clients, stop: StoppedNode) -> float:
    """Stop the node, wait until the API server marks it not Ready, then mark it out-of-service: what
    an operator (or a node-health controller) does for a node that is gone; without it the node's
    pods stay Terminating and their names block the group's new pods. Returns the seconds to not Ready."""
    stop.stop()
    seconds = stop.wait_not_ready(kube, timeout=timeouts.NODE_NOT_READY)
    out_of_service(kube, stop.node)
    return seconds


def leader_ready_group(name: str, startup_policy: str) -> Object:
    """One group of 3 whose members are Ready once they listen, after a 3 s warm-up. Mock vLLM's own
    /health makes the leader Ready only once every worker joined its ring, which would deadlock
    LeaderReady (workers wait for a leader that waits for them); a leader Ready once it listens is
    what LeaderReady is for: a head process that must be up before its workers start."""
    listening = {"tcpSocket": {"port": PORT}, "initialDelaySeconds": 3, "periodSeconds": 1}
    lws = mock_vllm_lws(name, size=3, engine=ENGINE, startup_policy=startup_policy)
    return LeaderWorkerSet(lws).readiness(listening).obj()


# LeaderReady, observed.


class StartupWatch:
    """Folds a group's pod watch events into a Startup."""

    def __init__(self, leader: str) -> None:
        self.leader = leader
        self._events = 0
        self._ready: Seen | None = None
        self._added: dict[str, Seen] = {}
        self._ended = ""
        self._lock = threading.Lock()

    def add(self, kind: str, pod: dict[str, Any], at: float) -> None:
        """One event (`kind` ADDED, MODIFIED, DELETED; `pod` the raw object) that arrived at `at`."""
        with self._lock:
            self._events += 1
            seen = Seen(self._events, at)
            name = pod["metadata"]["name"]
            if name != self.leader:
                if kind == "ADDED":
                    self._added.setdefault(name, seen)
            elif self._ready is None and _is_ready(pod):
                self._ready = seen

    def end(self, reason: str) -> None:
        """The watch ended on its own (an error, or the API server closed it)."""
        with self._lock:
            self._ended = self._ended or reason

    def startup(self) -> Startup:
        with self._lock:
            return Startup(self.leader, self._ready, dict(self._added), self._ended)


def _is_ready(pod: dict[str, Any]) -> bool:
    return is_true(pod, "Ready")


@contextmanager
def watch_startup(kube: Clients, namespace: str, lws: str, group: int, seconds: float) -> Iterator[StartupWatch]:
    """Watch the group's pods for at most `seconds`, in a thread; the watch is open when the block
    starts (create the LWS inside it) and stopped when it ends."""
    seen = StartupWatch(f"{lws}-{group}")
    selector = f"{LWS_NAME_LABEL}={lws},{LWS_GROUP_INDEX_LABEL}={group}"
    # From the resourceVersion of a list: no event between this list and the watch is missed.
    version = kube.core.list_namespaced_pod(namespace, label_selector=selector).metadata.resource_version
    opened = threading.Event()

    @functools.wraps(kube.core.list_namespaced_pod)
    def list_pods(*args: Any, **kwargs: Any) -> Any:
        response = kube.core.list_namespaced_pod(*args, **kwargs)
        opened.set()  # the API server answered: the watch is registered
        return response

    pods = watch.Watch()
    stopping = threading.Event()

    def run() -> None:
        try:
            for event in pods.stream(
                list_pods,
                namespace,
                label_selector=selector,
                resource_version=version,
                timeout_seconds=int(seconds),
                _request_timeout=(5, seconds + 10),
                deserialize=False,
            ):
                seen.add(event["type"], event["object"], time.time())
            if not stopping.is_set():
                seen.end(f"the API server closed it after at most {seconds:.0f} s")
        except Exception as e:  # reported with the observation: a watch that broke saw less
            if not stopping.is_set():
                seen.end(f"{type(e).__name__}: {e}")
        finally:
            opened.set()

    thread = threading.Thread(target=run, name=f"watch-{lws}-{group}", daemon=True)
    thread.start()
    try:
        answered = opened.wait(10)
        problem = seen.startup().ended or ("" if answered else "no answer within 10 s")
        if problem:
            raise CheckFailed(f"the pod watch in {namespace} did not open: {problem}")
        yield seen
    finally:
        stopping.set()
        pods.stop()  # shuts its socket down: the thread's read returns
        thread.join(5)
