"""The diagnostics bundle of a failed check, collected while its cluster still runs.

    <check dir>/diagnostics/
      README.txt              what was collected, and what could not be (with why)
      events.txt              every event seen since the check started (all namespaces), oldest first
      pods/<ns>/pods.yaml     the pods of each namespace the check touched; <pod>.<container>.log
      controllers/<ns>/...    the controllers' logs over the check (LWS, Kueue, KEDA, DRA driver, ...)
      objects/<kind>.yaml     LWS, Kueue workloads and queues, ResourceClaims, nodes
    <run dir>/kind-logs/      `kind export logs`, once per run (the first failure), shared by all checks

Everything is bounded: per-call API timeouts, a deadline for the whole bundle, log tails and sizes.
Events come from a watch that runs through the session (EventLog): a check's scratch namespace is
deleted, with its events, before the failure is reported, but the watch has seen them.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from harness.kube.client import Clients

CONTROLLER_NAMESPACES = ["lws-system", "kueue-system", "keda", "monitoring", "fake-gpu"]
SYSTEM_CONTROLLERS = ("kube-scheduler", "kube-controller-manager")  # kube-system pods' name prefixes
SKIP_NAMESPACES = {"kube-system", "kube-public", "kube-node-lease", "local-path-storage", *CONTROLLER_NAMESPACES}
CUSTOM_OBJECTS = [  # (group, version, plural): what groups, queues and claims looked like at failure
    ("leaderworkerset.x-k8s.io", "v1", "leaderworkersets"),
    ("kueue.x-k8s.io", "v1beta2", "workloads"),
    ("kueue.x-k8s.io", "v1beta2", "clusterqueues"),
    ("kueue.x-k8s.io", "v1beta2", "localqueues"),
    ("resource.k8s.io", "v1", "resourceclaims"),
    ("keda.sh", "v1alpha1", "scaledobjects"),
]


@dataclass
class Limits:
    deadline: float = 90  # seconds for one check's bundle (kind logs have their own)
    pods: int = 40  # pods whose logs are fetched
    tail_lines: int = 1000
    log_bytes: int = 512 * 1024  # per container log
    events: int = 5000
    request_timeout: float = 15


class EventLog:
    """Every event the API server sends during the session, kept in memory (bounded), so that a failed
    check's events survive the deletion of its namespace."""

    def __init__(self, kube: Clients, limit: int = 20000) -> None:
        self.kube = kube
        self.events: deque[dict[str, Any]] = deque(maxlen=limit)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="llmc-event-log", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        version = ""
        while not self._stop.is_set():
            try:
                w = watch.Watch()
                for item in w.stream(
                    self.kube.core.list_event_for_all_namespaces,
                    resource_version=version,
                    timeout_seconds=20,
                    _request_timeout=30,
                ):
                    obj = item["object"]
                    version = obj.metadata.resource_version or version
                    if item["type"] in ("ADDED", "MODIFIED"):
                        self.events.append(_event_line(obj))
                    if self._stop.is_set():
                        w.stop()
            except ApiException as e:
                version = ""  # 410 Gone: start again from now
                if e.status != 410:
                    self._stop.wait(2)
            except Exception:  # the cluster went away or the connection broke: retry, bounded by stop()
                self._stop.wait(2)

    def since(self, start: float) -> list[dict[str, Any]]:
        return [e for e in list(self.events) if e["at"] >= start]

    def stop(self) -> None:
        self._stop.set()


def _event_line(e: client.CoreV1Event) -> dict[str, Any]:
    stamp = e.last_timestamp or e.event_time or e.first_timestamp or e.metadata.creation_timestamp
    return {
        "at": stamp.timestamp() if stamp else time.time(),
        "namespace": e.metadata.namespace or "",
        "object": f"{e.involved_object.kind}/{e.involved_object.name}",
        "type": e.type or "",
        "reason": e.reason or "",
        "message": (e.message or "").strip(),
        "count": e.count or 1,
    }


@dataclass
class Bundle:
    folder: Path
    limits: Limits
    started: float = field(default_factory=time.monotonic)
    notes: list[str] = field(default_factory=list)

    def out_of_time(self) -> bool:
        return time.monotonic() - self.started > self.limits.deadline

    def write(self, relative: str, text: str) -> None:
        path = self.folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def dump(self, relative: str, objects: Any) -> None:
        self.write(relative, yaml.safe_dump(objects, sort_keys=False, default_flow_style=False))


def collect(
    kube: Clients,
    folder: Path,
    since: float,
    events: EventLog | None = None,
    limits: Limits | None = None,
) -> Path:
    """Write the bundle for a check that started at `since` (epoch seconds) and failed now."""
    bundle = Bundle(folder, limits or Limits())
    folder.mkdir(parents=True, exist_ok=True)
    seen = _events(kube, bundle, since, events)
    namespaces = sorted({e["namespace"] for e in seen} - SKIP_NAMESPACES - {""})
    namespaces += [ns for ns in _scratch_namespaces(kube, bundle) if ns not in namespaces]
    for step, args in (
        (_pods, (kube, bundle, namespaces)),
        (_controllers, (kube, bundle, since)),
        (_objects, (kube, bundle)),
    ):
        if bundle.out_of_time():
            bundle.notes.append(f"stopped at {step.__name__.strip('_')}: past the {bundle.limits.deadline:.0f} s bound")
            break
        try:
            step(*args)  # type: ignore[operator]
        except Exception as e:
            bundle.notes.append(f"{step.__name__.strip('_')}: {type(e).__name__}: {e}")
    seconds = time.monotonic() - bundle.started
    readme = [
        f"diagnostics collected in {seconds:.1f} s for the check that started at {_clock(since)}",
        f"namespaces the check touched: {', '.join(namespaces) or 'none found (already deleted?)'}",
        *bundle.notes,
    ]
    bundle.write("README.txt", "\n".join(readme) + "\n")
    return folder


def namespace_pods(kube: Clients, folder: Path, namespace: str, limits: Limits | None = None) -> None:
    """The pods of one namespace and their logs, into folder/pods/<namespace>/ (before it is deleted)."""
    _pods(kube, Bundle(folder, limits or Limits()), [namespace])


def _events(kube: Clients, bundle: Bundle, since: float, log: EventLog | None) -> list[dict[str, Any]]:
    seen = {(e["namespace"], e["object"], e["reason"], e["message"]): e for e in (log.since(since - 5) if log else [])}
    try:  # what is still listed, in case the watch missed something (or there is none)
        listed = kube.core.list_event_for_all_namespaces(
            limit=bundle.limits.events, _request_timeout=bundle.limits.request_timeout
        )
        for obj in listed.items:
            line = _event_line(obj)
            if line["at"] >= since - 5:
                seen.setdefault((line["namespace"], line["object"], line["reason"], line["message"]), line)
    except Exception as e:
        bundle.notes.append(f"events: list failed: {type(e).__name__}: {e}")
    ordered = sorted(seen.values(), key=lambda e: e["at"])[-bundle.limits.events :]
    bundle.write(
        "events.txt",
        "".join(
            f"{_clock(e['at'])} {e['namespace'] or '-'} {e['type']:<7} {e['reason']:<24} {e['object']}"
            f"{' x' + str(e['count']) if e['count'] > 1 else ''}: {e['message']}\n"
            for e in ordered
        )
        or "no events since the check started\n",
    )
    return ordered


def _scratch_namespaces(kube: Clients, bundle: Bundle) -> list[str]:
    from harness.kube.namespaces import OWNER_LABEL

    listed = kube.core.list_namespace(label_selector=OWNER_LABEL, _request_timeout=bundle.limits.request_timeout)
    return [ns.metadata.name for ns in listed.items]


def _pods(kube: Clients, bundle: Bundle, namespaces: list[str]) -> None:
    budget = bundle.limits.pods
    for ns in namespaces:
        if (bundle.folder / "pods" / ns / "pods.yaml").exists():
            continue  # saved before its namespace was deleted (namespace_pods)
        pods = kube.core.list_namespaced_pod(ns, _request_timeout=bundle.limits.request_timeout).items
        bundle.dump(f"pods/{ns}/pods.yaml", kube.api.sanitize_for_serialization(pods))
        for pod in pods:
            if budget <= 0 or bundle.out_of_time():
                bundle.notes.append(f"pods: stopped at namespace {ns}: pod or time bound reached")
                return
            budget -= 1
            _pod_logs(kube, bundle, pod, f"pods/{ns}")


def _pod_logs(kube: Clients, bundle: Bundle, pod: client.V1Pod, where: str, since: int | None = None) -> None:
    name, ns = pod.metadata.name, pod.metadata.namespace
    restarted = {s.name for s in pod.status.container_statuses or [] if (s.restart_count or 0) > 0}
    containers = [c.name for c in (pod.spec.init_containers or []) + pod.spec.containers]
    for container in containers:
        for previous in (False, True) if container in restarted else (False,):
            suffix = ".previous" if previous else ""
            try:
                text = kube.core.read_namespaced_pod_log(
                    name,
                    ns,
                    container=container,
                    previous=previous,
                    tail_lines=bundle.limits.tail_lines,
                    limit_bytes=bundle.limits.log_bytes,
                    since_seconds=since,
                    timestamps=True,
                    _request_timeout=bundle.limits.request_timeout,
                )
            except ApiException as e:  # not started yet, or gone: say so where the log would be
                text = f"no log: HTTP {e.status} {e.reason}\n"
            bundle.write(f"{where}/{name}.{container}{suffix}.log", text or "(empty)\n")


def _controllers(kube: Clients, bundle: Bundle, since: float) -> None:
    window = int(time.time() - since) + 60
    timeout = bundle.limits.request_timeout
    for ns in CONTROLLER_NAMESPACES:
        try:
            pods = kube.core.list_namespaced_pod(ns, _request_timeout=timeout).items
        except ApiException as e:
            if e.status == 404:
                continue
            raise
        for pod in pods:
            _pod_logs(kube, bundle, pod, f"controllers/{ns}", since=window)
    system = kube.core.list_namespaced_pod("kube-system", _request_timeout=timeout).items
    for pod in system:
        unhealthy = pod.status.phase != "Running"
        if pod.metadata.name.startswith(SYSTEM_CONTROLLERS) or unhealthy:
            _pod_logs(kube, bundle, pod, "controllers/kube-system", since=window)


def _objects(kube: Clients, bundle: Bundle) -> None:
    custom = client.CustomObjectsApi(kube.api)
    timeout = bundle.limits.request_timeout
    for group, version, plural in CUSTOM_OBJECTS:
        try:
            listed: Any = custom.list_cluster_custom_object(group, version, plural, _request_timeout=timeout)
        except ApiException as e:
            if e.status == 404:  # not installed on this cluster
                continue
            raise
        items = [i for i in listed.get("items", []) if i["metadata"].get("namespace") not in SKIP_NAMESPACES]
        for i in items:
            i["metadata"].pop("managedFields", None)
        bundle.dump(f"objects/{plural}.yaml", items)
    nodes = kube.api.sanitize_for_serialization(kube.core.list_node(_request_timeout=timeout).items)
    for n in nodes:
        n["metadata"].pop("managedFields", None)
        n.get("status", {}).pop("images", None)  # long, and says nothing about the failure
    bundle.dump("objects/nodes.yaml", nodes)


def kind_logs(binary_runner: Any, cluster: str, folder: Path) -> str:
    """`kind export logs` into folder (kind's own bound: 300 s). Returns a line for the README."""
    try:
        started = time.monotonic()
        binary_runner.export_logs(cluster, folder)
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        seconds = time.monotonic() - started
        return f"kind export logs: {folder.name}/ in the run folder ({size / 2**20:.1f} MiB, {seconds:.0f} s)"
    except Exception as e:
        return f"kind export logs failed: {type(e).__name__}: {e}"


def _clock(epoch: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch % 1 * 1000):03d}Z"
