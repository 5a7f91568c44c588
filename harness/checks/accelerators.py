"""Accelerator checks (AI conformance's secure_accelerator_access and accelerator_metrics): who can
reach a GPU, and whether the per-GPU metrics follow what the GPUs' holders do. Each raises
CheckFailed with the evidence, or returns figures.

The suite (suites/test_accelerators.py) runs them; tests/cluster/test_accelerators_negative.py runs
each on the suite's set-up with one thing changed and expects it to fail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from harness.checks import CheckFailed

RESULT = re.compile(r"^RESULT: ACCELERATOR_COUNT=(\d+)$", re.M)
RISE = 50.0  # % utilisation a GPU must reach under load
FALL = 10.0  # % it must fall to after


@dataclass(frozen=True)
class Seen:
    """What one container found: the device nodes the personality's glob matched and the
    accelerator variables in its environment (the probe's log, harness.scenarios.accelerators)."""

    where: str  # pod/container
    nodes: tuple[str, ...]
    env: dict[str, str]

    @classmethod
    def from_log(cls, where: str, log: str) -> Seen:
        counted = RESULT.search(log)
        if counted is None:
            raise CheckFailed(f"{where}: the probe printed no RESULT line: {log[-300:]!r}")
        nodes = tuple(line.removeprefix("NODE: ") for line in log.splitlines() if line.startswith("NODE: "))
        if len(nodes) != int(counted[1]):
            raise CheckFailed(f"{where}: probe counted {counted[1]} device nodes but listed {nodes}")
        env = dict(line.removeprefix("ENV: ").split("=", 1) for line in log.splitlines() if line.startswith("ENV: "))
        return cls(where, nodes, env)

    def __str__(self) -> str:
        return f"{self.where}: device nodes {list(self.nodes)}, env {self.env}"


@dataclass(frozen=True)
class Expected:
    """What a container may see: its claim's device nodes and visible-devices value, or nothing."""

    nodes: frozenset[str] = frozenset()
    visible: str | None = None  # the personality's visible-devices variable, None: must be unset
    visible_env: str = ""


def check_sees_only_its_own(observations: list[tuple[Seen, Expected]]) -> None:
    """Every container sees exactly the accelerators its claims gave it (nothing without a claim),
    and no two containers share a device node."""
    wrong = []
    for seen, want in observations:
        problems = []
        if set(seen.nodes) != want.nodes:
            problems.append(f"device nodes {sorted(seen.nodes)}, expected {sorted(want.nodes)}")
        if not want.nodes and seen.env:
            problems.append(f"accelerator env {seen.env} without a claim")
        if want.nodes and seen.env.get(want.visible_env) != want.visible:
            problems.append(f"{want.visible_env}={seen.env.get(want.visible_env)!r}, expected {want.visible!r}")
        if problems:
            wrong.append(f"{seen.where}: " + "; ".join(problems))
    owners: dict[str, list[str]] = {}
    for seen, _ in observations:
        for node in seen.nodes:
            owners.setdefault(node, []).append(seen.where)
    shared = {node: where for node, where in owners.items() if len(where) > 1}
    if shared:
        wrong.append(f"device nodes seen by more than one container: {shared}")
    if wrong:
        raise CheckFailed("accelerators reached without their claim: " + " | ".join(wrong))


@dataclass(frozen=True)
class Held:
    """An allocated GPU and the engine that holds it."""

    node: str
    device: str
    uuid: str
    pod: str
    namespace: str
    container: str

    def __str__(self) -> str:
        return f"GPU {self.uuid} ({self.node}/{self.device}, held by {self.namespace}/{self.pod})"


@dataclass
class DeviceSeries:
    """What Prometheus returned for one GPU over the check: utilisation before, at its peak under
    load and after, memory in use, and the holder labels on the series."""

    labels: dict[str, str] = field(default_factory=dict)
    util_before: float | None = None
    util_peak: float | None = None
    util_after: float | None = None
    memory_used_mib: float | None = None


def check_metrics_follow_load(held: list[Held], series: dict[str, DeviceSeries]) -> dict[str, float]:
    """For every allocated GPU, Prometheus has utilisation and memory labelled with its holder, and
    utilisation rose to RISE % or more under load and fell to FALL % or less after; returns figures."""
    if not held:
        raise CheckFailed("no GPU was allocated: nothing to judge")
    problems = []
    for h in held:
        s = series.get(h.uuid)
        if s is None or s.util_before is None or s.memory_used_mib is None:
            problems.append(f"{h}: no utilisation or memory series in Prometheus")
            continue
        holder = {k: s.labels.get(k) for k in ("pod", "namespace", "container")}
        if holder != {"pod": h.pod, "namespace": h.namespace, "container": h.container}:
            problems.append(f"{h}: series labelled {holder}, expected pod {h.pod} container {h.container}")
        if s.util_peak is None or s.util_peak < RISE:
            problems.append(
                f"{h}: utilisation under load peaked at {s.util_peak} %, below {RISE:g} % (before: {s.util_before} %)"
            )
        elif s.util_after is None or s.util_after > FALL:
            problems.append(f"{h}: utilisation after the load {s.util_after} %, not back to {FALL:g} % or less")
        if s.memory_used_mib <= 0:
            problems.append(f"{h}: memory used {s.memory_used_mib} MiB while an engine holds it")
    if problems:
        raise CheckFailed("accelerator metrics do not follow the engines: " + " | ".join(problems))
    peaks = [series[h.uuid].util_peak or 0.0 for h in held]
    return {
        "devices": float(len(held)),
        "lowest_peak_util": min(peaks),
        "highest_util_after": max(series[h.uuid].util_after or 0.0 for h in held),
    }
