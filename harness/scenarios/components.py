"""The components suite's set-ups (suites/test_components.py), shared with its negative controls
(tests/cluster/test_components_negative.py)."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from harness import timeouts
from harness.builders import core as builders
from harness.builders.kueue import ClusterQueue, LocalQueue, ResourceFlavor
from harness.builders.lws import LeaderWorkerSet
from harness.checks.components import series_scraped
from harness.kube.client import Clients
from harness.kube.namespaces import scratch_namespace
from harness.kube.objects import Object, cluster_objects, create
from harness.kube.pods import run_in, wait_ready
from harness.stack import StackFigures
from harness.stack import components as stack_components
from harness.stack.controllers import Controller, expected_controllers
from harness.supply import Mode


def pinned_controllers(stack: StackFigures, mode: Mode, repinned: str | None = None) -> list[Controller]:
    """The controllers of every installed stack component, with their pinned images; `repinned`
    (the control) moves that component's pins to another version, as if the versions file had moved
    on and the cluster had not."""
    installed = [c for c in stack_components() if c.name not in stack.absent]
    expected = expected_controllers(installed, mode)
    if repinned is None:
        return expected
    return [
        dataclasses.replace(c, images=tuple(f"{i.rsplit(':', 1)[0]}:v0.0.0-repinned" for i in c.images))
        if c.component == repinned
        else c
        for c in expected
    ]


# Kueue makes one Workload per LWS group within seconds: the admission check's bound, suite and control.
ADMISSION_TIMEOUT = 45


def lws_groups(name: str, groups: int, size: int, queue: str | None = None) -> Object:
    """Sleeping LWS groups; with `queue`, labelled for Kueue's LeaderWorkerSet integration (the
    admission control leaves the label out)."""
    lws = LeaderWorkerSet.sleepers(name, groups=groups, size=size)
    if queue is not None:
        lws.queue(queue)
    return lws.obj()


@contextmanager
def kueue_queue(kube: Clients, cpu: str) -> Iterator[tuple[str, str]]:
    """A ResourceFlavor, a ClusterQueue with `cpu` nominal quota, and a scratch namespace with a
    LocalQueue pointing at it; yields (namespace, local queue). Removed afterwards."""
    suffix = secrets.token_hex(3)
    flavor, cq = f"llmc-flavor-{suffix}", f"llmc-cq-{suffix}"
    with (
        cluster_objects(kube, [ResourceFlavor(flavor).obj(), ClusterQueue(cq).flavor(flavor).quota(cpu, "1Gi").obj()]),
        scratch_namespace(kube.core, "kueue") as ns,
    ):
        create(kube, LocalQueue("queue", cq).obj(), ns)
        yield ns, "queue"


@dataclass
class ScalingRig:
    """A metric exporter Prometheus scrapes and a Deployment KEDA scales on it."""

    namespace: str
    exporter: str
    target: str
    metric: str

    def set_metric(self, kube: Clients, value: float) -> None:
        code, out = run_in(kube.core, self.namespace, self.exporter, builders.set_metric_command(self.metric, value))
        if code != 0:
            raise RuntimeError(f"setting {self.metric} in {self.exporter} failed ({code}): {out}")


def scaling_rig(kube: Clients, namespace: str, threshold: float, min_replicas: int, max_replicas: int) -> ScalingRig:
    rig = ScalingRig(namespace, "exporter", "target", "llmc_queue_length")
    create(kube, builders.metric_exporter(rig.exporter, rig.metric, 0), namespace)
    create(kube, builders.sleeper_deployment(rig.target, replicas=min_replicas), namespace)
    wait_ready(kube.core, namespace, [rig.exporter], timeout=timeouts.POD_READY)
    query = f'sum({rig.metric}{{namespace="{namespace}"}})'
    series_scraped(kube, query, timeout=timeouts.SCRAPED)  # KEDA sees a value before the check starts
    so = builders.scaled_object("target", rig.target, query, threshold, min_replicas, max_replicas)
    create(kube, so, namespace)
    return rig
