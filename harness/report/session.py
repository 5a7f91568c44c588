"""The report's side of a pytest session: one record per check, the cluster's facts while it runs,
diagnostics when a check fails, and the report files at the end (harness/plugin.py calls this)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from harness.kube import namespaces
from harness.kube.client import Clients
from harness.report import diagnostics
from harness.report.environment import add_cluster, local_environment
from harness.report.html import write_html
from harness.report.record import CheckRecord
from harness.report.results import Run, document, write_results
from harness.report.summary import write_summary
from harness.spec import Testbed


class Report:
    def __init__(self, run_dir: Path | None, spec: Testbed | None, args: list[str]) -> None:
        self.run_dir = run_dir
        self.run = Run(
            id=run_dir.name if run_dir else "", started=time.time(), environment=local_environment(), spec=spec
        )
        self.run.args = args
        self.events: diagnostics.EventLog | None = None
        self._testbed: Any = None
        self._kind_logs = ""
        self._current: tuple[CheckRecord, dict[str, Any]] | None = None
        namespaces.FAILURE_HOOKS.append(self._namespace_failing)

    def new_record(self, nodeid: str, area: str, check: str, disruptive: bool) -> CheckRecord:
        rec = CheckRecord(nodeid=nodeid, area=area, check=check, disruptive=disruptive)
        if self.run_dir:
            rec.dir = self.run_dir / "checks" / _safe(nodeid)
            rec.dir.mkdir(parents=True, exist_ok=True)
        self.run.records.append(rec)
        return rec

    def check_starts(self, rec: CheckRecord, funcargs: dict[str, Any]) -> None:
        """The first check that has a cluster: note what the cluster is, and (when a report is being
        written) start the session's event watch, so that failed checks' events survive clean-up."""
        self._current = (rec, funcargs)
        testbed = funcargs.get("testbed")
        if testbed is not None and self._testbed is None:
            self._testbed = testbed
            add_cluster(self.run.environment, testbed)
            if self.run.spec is None:  # an existing cluster: its spec is discovered, not given
                self.run.spec = getattr(testbed, "spec", None)
        kube = self._clients(funcargs)
        if self.run_dir and kube is not None and self.events is None:
            self.events = diagnostics.EventLog(kube)

    def check_failed(self, rec: CheckRecord, funcargs: dict[str, Any]) -> None:
        """Collect the diagnostics bundle while the cluster still exists (bounded; never raises)."""
        kube = self._clients(funcargs)
        if not self.run_dir or kube is None:
            return
        try:
            folder = diagnostics.collect(kube, rec.dir / "diagnostics", rec.started, self.events)
            rec.diagnostics = str(folder)
            self._export_kind_logs(folder)
        except Exception as e:  # the report must never turn a failure into an internal error
            rec.evidence(f"diagnostics could not be collected: {type(e).__name__}: {e}")

    def _namespace_failing(self, namespace: str) -> None:
        """A check's own scratch namespace is about to be deleted after an error inside it: keep its
        pods and their logs in the check's diagnostics (bounded; never raises)."""
        if not self.run_dir or self._current is None:
            return
        rec, funcargs = self._current
        kube = self._clients(funcargs)
        if kube is None:
            return
        try:
            diagnostics.namespace_pods(kube, rec.dir / "diagnostics", namespace)
        except Exception as e:
            rec.evidence(f"pods of {namespace} could not be saved: {type(e).__name__}: {e}")

    def _export_kind_logs(self, folder: Path) -> None:
        testbed = self._testbed
        kind, spec = getattr(testbed, "kind", None), getattr(testbed, "spec", None)
        if self.run_dir is None or kind is None or spec is None:
            return
        if not self._kind_logs:  # once per run: it is large and slow, and the same for every check
            self._kind_logs = diagnostics.kind_logs(kind, spec.name, self.run_dir / "kind-logs")
        with (folder / "README.txt").open("a") as readme:
            readme.write(self._kind_logs + "\n")

    def _clients(self, funcargs: dict[str, Any]) -> Clients | None:
        kube = funcargs.get("kube")
        if isinstance(kube, Clients):
            return kube
        testbed = funcargs.get("testbed") or self._testbed
        try:
            return testbed.clients() if testbed is not None else None
        except Exception:
            return None

    def stop_watching(self) -> None:
        """Stop the event log: before the cluster goes away, so it does not retry against nothing."""
        if self.events:
            self.events.stop()

    def finish(self, exit_status: int | None, bring_up: str | None, stack: str | None) -> dict[str, Any] | None:
        """Write results.json, summary.md and index.html into the run folder (if there is one)."""
        self.stop_watching()
        if self._namespace_failing in namespaces.FAILURE_HOOKS:
            namespaces.FAILURE_HOOKS.remove(self._namespace_failing)
        if not self.run_dir:
            return None
        self.run.environment.bring_up = bring_up
        self.run.environment.stack = stack
        data = document(self.run, self.run_dir, time.time(), exit_status)
        write_results(self.run_dir, data)
        write_summary(self.run_dir, data)
        write_html(self.run_dir, data)
        return data


def _safe(nodeid: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in nodeid.replace("::", "__"))[:150]
