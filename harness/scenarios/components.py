"""The components suite's set-ups (suites/test_components.py), shared with its negative controls
(tests/cluster/test_components_negative.py)."""

from __future__ import annotations

import dataclasses

from harness.kube.labels import KUEUE_QUEUE_LABEL
from harness.kube.objects import Object
from harness.stack import StackFigures, builders
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
    lws = builders.leader_worker_set(name, groups=groups, size=size)
    if queue is not None:
        lws["metadata"]["labels"] = {KUEUE_QUEUE_LABEL: queue}
    return lws
