"""What a check records for the report: figures, time series, evidence, events, placement, load.

A suite test asks for the `record` fixture and fills it while it runs; the plugin stores the verdict
(passed / failed / not applicable) when the test ends, and the report (harness/report) writes every
record into results.json. Keep values JSON-serialisable: numbers, strings, lists, dicts.

    def test_group_restarts_whole(record, ...):
        record.figure("group_restart", 12.4, "s")
        record.series("pods_bound", [(0.0, 0), (1.5, 2)], unit="pods", group="vllm-0")
        record.event("worker killed", at=time.time())
        record.evidence("group vllm-0: 4/4 pod UIDs changed")
        record.load(result, out_dir)             # a harness.load LoadResult and its output folder
        record.placement(group="vllm-0", rack="rack-1", node="llmc-worker", numa=0, devices=["gpu-0"])
        with record.step("kill a worker of group vllm-0"):             # a named step (kinds below)
            ...

A step is said live on the progress log and kept for the report's timeline; its kind splits the
check's time: "setup" (making objects, starting load), "wait" (waiting for the cluster: pods
Ready, groups formed, a controller's reaction) and "observe" (watching what the check judges).
pytest's own fixture set-up and teardown count as set-up; the rest of the call, outside any step,
as "other". Steps may nest; only the outermost count in the split.

A check that cannot apply to this cluster calls `record.not_applicable("why")` (or raises NotApplicable):
the plugin ends the test as skipped with that reason and verdict "not_applicable". Use it only where the
cluster genuinely lacks the feature; a missing testbed is an error, never "not applicable".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from harness import progress
from harness.load.results import LoadResult
from harness.report.schema import STEP_KINDS
from harness.verdicts import NotApplicable

NOT_APPLICABLE = "not applicable: "
PHASES = ("setup", "call", "teardown")  # pytest's phases of a test, timed by the plugin
log = logging.getLogger("llmc.check")


@dataclass
class Figure:
    value: float
    unit: str
    note: str = ""


@dataclass
class Series:
    unit: str
    points: list[tuple[float, float]]  # (epoch seconds, value)
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class Event:
    label: str
    at: float  # epoch seconds


@dataclass
class Step:
    label: str
    kind: str  # one of STEP_KINDS
    started: float  # epoch seconds
    finished: float | None = None
    depth: int = 0  # inside that many other steps: its time is already counted by the outermost


@dataclass
class Placement:
    group: str
    rack: str
    node: str
    numa: int | None = None
    devices: list[str] = field(default_factory=list)
    pod: str = ""


@dataclass
class LoadRecord:
    out: str  # folder with results.json, requests.jsonl and the Locust CSVs
    summary: dict[str, Any]  # LoadResult.to_json()


@dataclass
class CheckRecord:
    nodeid: str
    area: str  # the suite marker: smoke, gang, restart, topology, ...
    check: str  # what the check asserts: the test's docstring's first line, else its name
    started: float = field(default_factory=time.time)
    finished: float | None = None
    verdict: str = "not_run"  # passed | failed | not_applicable | error | not_run
    reason: str = ""  # the failure message or the not-applicable reason
    figures: dict[str, Figure] = field(default_factory=dict)
    timeseries: dict[str, Series] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    observations: list[str] = field(default_factory=list)  # the evidence, one line each
    placements: list[Placement] = field(default_factory=list)
    loads: dict[str, LoadRecord] = field(default_factory=dict)
    diagnostics: str | None = None  # folder of the diagnostics bundle, for failed checks
    disruptive: bool = False  # marked @pytest.mark.disruptive
    steps: list[Step] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)  # seconds per pytest phase (PHASES)
    dir: Path = field(default=Path("."), repr=False)  # this check's own folder: Locust output, dumps

    def load_dir(self, name: str = "load") -> Path:
        """A fresh folder for one load run's output (pass it to harness.load.run/background)."""
        out = self.dir / name
        out.mkdir(parents=True, exist_ok=True)
        return out

    def figure(self, name: str, value: float, unit: str, note: str = "") -> None:
        self.figures[name] = Figure(float(value), unit, note)

    def series(self, name: str, points: list[tuple[float, float]], unit: str, **labels: str) -> None:
        self.timeseries[name] = Series(unit, [(float(t), float(v)) for t, v in points], dict(labels))

    def event(self, label: str, at: float | None = None) -> None:
        self.events.append(Event(label, time.time() if at is None else at))

    def evidence(self, text: str) -> None:
        self.observations.append(text)

    def placement(
        self, group: str, rack: str, node: str, numa: int | None = None, devices: list[str] | None = None, pod: str = ""
    ) -> None:
        self.placements.append(Placement(group, rack, node, numa, list(devices or []), pod))

    def load(self, result: LoadResult, out: Path, name: str = "load") -> None:
        self.loads[name] = LoadRecord(str(out), result.to_json())
        for mark in result.marks:
            self.event(mark.label, mark.at)

    @contextmanager
    def step(self, label: str, kind: str = "setup") -> Iterator[progress.Step]:
        """Name a step of the check (as Ginkgo's By): logged live when it starts and ends, with a beat
        while it runs (note() sets what the beat says), and kept with its kind for the report."""
        if kind not in STEP_KINDS:
            raise ValueError(f"step kind {kind!r}: one of {', '.join(STEP_KINDS)}")
        entry = Step(label, kind, time.time(), depth=sum(1 for s in self.steps if s.finished is None))
        self.steps.append(entry)
        try:
            with progress.step(log, label) as running:
                yield running
        finally:
            entry.finished = time.time()

    def timing(self) -> dict[str, float]:
        """The check's seconds split by kind: set-up (fixtures, teardown, set-up steps), waiting for
        the cluster, observation, and "other" (the call's time outside any step)."""
        split = dict.fromkeys((*STEP_KINDS, "other"), 0.0)
        split["setup"] = self.phases.get("setup", 0.0) + self.phases.get("teardown", 0.0)
        stepped = 0.0
        for s in self.steps:
            if s.depth == 0 and s.finished is not None:
                split[s.kind] += s.finished - s.started
                stepped += s.finished - s.started
        split["other"] = max(0.0, self.phases.get("call", 0.0) - stepped)
        return {k: round(v, 2) for k, v in split.items()}

    def not_applicable(self, reason: str) -> NoReturn:
        self.verdict = "not_applicable"
        self.reason = reason
        raise NotApplicable(reason)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["evidence"] = data.pop("observations")
        data["series"] = data.pop("timeseries")
        data["dir"] = str(self.dir)
        data["timing"] = self.timing()
        return data
