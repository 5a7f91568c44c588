"""Watching a LeaderWorkerSet's groups over time, from outside: which groups are whole, which are
partial, which template revision each member runs, and which leaders the Service sends traffic to.

A background thread samples pods and EndpointSlices; checks read the samples afterwards. Sampling
(every `interval` s) rather than watching keeps it simple; a state shorter than one interval can be
missed, which the checks say in their evidence. A sample that fails on a transient error (the API
server busy or restarting) is a gap, recorded with its error; harness.checks.sampling.check_sampled
fails a timeline whose gaps are long enough to hide what the checks look for.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from kubernetes import client

from harness.kube.client import Clients
from harness.kube.labels import LWS_API, LWS_GROUP_INDEX_LABEL, LWS_NAME_LABEL, LWS_REVISION_LABEL, SERVICE_NAME_LABEL
from harness.kube.pods import is_ready
from harness.kube.waits import is_transient


@dataclass(frozen=True)
class Member:
    pod: str
    node: str
    running: bool  # scheduled, and its container started
    ready: bool
    revision: str


@dataclass(frozen=True)
class Group:
    index: int
    members: tuple[Member, ...]  # pods that are not terminating, leader first
    serving: bool  # its leader is a ready endpoint of the Service

    def whole(self, size: int) -> bool:
        return len(self.members) == size and all(m.ready for m in self.members)

    def complete(self, size: int) -> bool:
        """Every member exists and runs. Weaker than whole(): a worker's Ready condition can lag its
        joining the leader's ring by a probe period, while the leader (ready only once the ring
        formed) already serves, rightly."""
        return len(self.members) == size and all(m.running for m in self.members)

    @property
    def revisions(self) -> set[str]:
        return {m.revision for m in self.members}

    def describe(self, size: int) -> str:
        running, ready = sum(m.running for m in self.members), sum(m.ready for m in self.members)
        return (
            f"group {self.index}: {running}/{size} members running, {ready} ready, revisions {sorted(self.revisions)}"
        )


@dataclass(frozen=True)
class Sample:
    at: float  # epoch seconds
    replicas: int  # the LWS's spec.replicas (what KEDA or the user asked for)
    groups: dict[int, Group]
    endpoints: int  # ready endpoints of the Service


@dataclass
class GroupTimeline:
    """The samples of one LWS and its Service, and the figures the checks read from them."""

    lws: str
    size: int
    samples: list[Sample] = field(default_factory=list)
    failures: list[tuple[float, str]] = field(default_factory=list)  # (epoch seconds, error) of failed samples
    # The observed window (epoch seconds; observe() sets both): a gap at either end counts too.
    started: float | None = None
    ended: float | None = None

    def largest_gap(self) -> tuple[float, float, float]:
        """The longest stretch of the observed window without a successful sample: (seconds, from,
        to), from and to in epoch seconds. The window is `started`..`ended`, or the samples' own span."""
        points = sorted(s.at for s in self.samples)
        edges = [t for t in (self.started, *points, self.ended) if t is not None]
        return max(((after - before, before, after) for before, after in pairwise(edges)), default=(0.0, 0.0, 0.0))

    def origin(self) -> float:
        """t=0 of the timeline's messages: when the observation began (else its first sample or failure)."""
        if self.started is not None:
            return self.started
        return min([s.at for s in self.samples] + [t for t, _ in self.failures], default=0.0)

    def whole_groups(self) -> list[tuple[float, float]]:
        return [(s.at, sum(g.whole(self.size) for g in s.groups.values())) for s in self.samples]

    def unavailable(self, replicas: int | None = None) -> list[tuple[float, int]]:
        """How many groups short of `replicas` (default: the LWS's replicas then) the whole groups
        were; surge groups count, as a Deployment's surge pods count towards availability."""
        out = []
        for s in self.samples:
            want = s.replicas if replicas is None else replicas
            whole = sum(g.whole(self.size) for g in s.groups.values())
            out.append((s.at, max(0, want - whole)))
        return out

    def partial_seconds(self) -> dict[int, float]:
        """Per group index, the seconds it existed with some but not all members ready."""
        seconds: dict[int, float] = defaultdict(float)
        for before, after in zip(self.samples, self.samples[1:], strict=False):
            for i, g in before.groups.items():
                if g.members and not g.whole(self.size):
                    seconds[i] += after.at - before.at
        return dict(seconds)

    def partial_serving(self) -> list[str]:
        """Every sample where a group with a member missing or not running had its leader among the
        Service's endpoints."""
        return [
            f"t={s.at - self.samples[0].at:.1f}s {g.describe(self.size)}, yet its leader is a ready endpoint"
            for s in self.samples
            for g in s.groups.values()
            if g.serving and not g.complete(self.size)
        ]

    def mixed_revisions(self, ready_only: bool = True) -> list[str]:
        """Samples where a group's (Ready) members ran different template revisions. While LWS
        replaces a group, a new leader can briefly coexist with an old, broken worker that is not
        Ready yet: `ready_only=False` shows those too."""
        out = []
        for s in self.samples:
            for g in s.groups.values():
                members = [m for m in g.members if m.ready or not ready_only]
                if len({m.revision for m in members}) > 1:
                    shown = ", ".join(f"{m.pod}={m.revision}{'' if m.ready else ' (not ready)'}" for m in g.members)
                    out.append(f"t={s.at - self.samples[0].at:.1f}s {g.describe(self.size)}: {shown}")
        return out

    def no_endpoint_seconds(self) -> float:
        return sum(
            after.at - before.at
            for before, after in zip(self.samples, self.samples[1:], strict=False)
            if before.endpoints == 0
        )


def sample(kube: Clients, namespace: str, lws: str, service: str) -> Sample:
    group, version = LWS_API.split("/")
    obj: Any = client.CustomObjectsApi(kube.api).get_namespaced_custom_object(
        group, version, namespace, "leaderworkersets", lws
    )
    replicas = int(obj.get("spec", {}).get("replicas", 0))
    pods = kube.core.list_namespaced_pod(namespace, label_selector=f"{LWS_NAME_LABEL}={lws}").items
    slices = client.DiscoveryV1Api(kube.api).list_namespaced_endpoint_slice(
        namespace, label_selector=f"{SERVICE_NAME_LABEL}={service}"
    )
    serving = {
        e.target_ref.name
        for s in slices.items
        for e in s.endpoints or []
        if e.conditions and e.conditions.ready and e.target_ref is not None
    }
    members: dict[int, list[Member]] = defaultdict(list)
    for p in pods:
        labels = p.metadata.labels or {}
        if LWS_GROUP_INDEX_LABEL not in labels or p.metadata.deletion_timestamp is not None:
            continue
        running = p.status.phase == "Running" and all(
            c.state is not None and c.state.running is not None for c in p.status.container_statuses or []
        )
        ready = running and is_ready(p)
        members[int(labels[LWS_GROUP_INDEX_LABEL])].append(
            Member(p.metadata.name, p.spec.node_name or "", running, ready, labels.get(LWS_REVISION_LABEL, ""))
        )
    groups = {
        i: Group(i, tuple(sorted(ms, key=lambda m: (len(m.pod), m.pod))), any(m.pod in serving for m in ms))
        for i, ms in members.items()
    }
    return Sample(time.time(), replicas, groups, len(serving))


@contextmanager
def observe(
    kube: Clients, namespace: str, lws: str, service: str, size: int, interval: float = 0.5
) -> Iterator[GroupTimeline]:
    """Sample the LWS's groups and the Service's endpoints every `interval` s inside the block.

    A sample that fails on a transient error is recorded in `failures` (a gap); any other error
    (a bug) ends the sampling and is raised when the block exits."""
    timeline = GroupTimeline(lws, size, started=time.time())
    stop = threading.Event()
    broken: list[Exception] = []

    def run() -> None:
        while not stop.is_set():
            try:
                timeline.samples.append(sample(kube, namespace, lws, service))
            except Exception as e:
                if not is_transient(e):
                    broken.append(e)
                    return
                timeline.failures.append((time.time(), f"{type(e).__name__}: {e}"))
            stop.wait(interval)

    thread = threading.Thread(target=run, name=f"observe-{lws}", daemon=True)
    thread.start()
    try:
        yield timeline
    finally:
        stop.set()
        thread.join(timeout=30)
        timeline.ended = time.time()
    if broken:
        raise broken[0]
