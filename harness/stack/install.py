"""Install the stack on a testbed: idempotent, in parallel where the components allow, bounded.

Each component's objects are applied as users apply release manifests (`kubectl apply
--server-side`), then waited for until usable (component.py). A ConfigMap in kube-system records
what was installed (version and a digest of the objects): on a reused cluster a component already at
that state is only re-checked, not re-applied.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import yaml
from kubernetes.client.exceptions import ApiException

from harness import progress
from harness.kube.client import Clients
from harness.kube.objects import Object
from harness.kube.waits import WaitTimeout
from harness.stack import images as stack_images
from harness.stack.component import Component, wait_usable
from harness.stack.footprint import container_memory_mib
from harness.supply import ImageSupply, Mode
from harness.supply.cache import digest
from harness.supply.kubectl import kubectl

RECORD = ("kube-system", "llm-conformance-stack")
FIELD_MANAGER = "llm-conformance"
RECHECK_SECONDS = 20  # a recorded component that is not usable this soon gets applied again

log = logging.getLogger("llmc.stack")


@dataclass
class Installed:
    name: str
    version: str
    namespace: str
    skipped: bool  # already at this state on a reused cluster
    apply_seconds: float
    ready_seconds: float


@dataclass
class StackFigures:
    build_seconds: float = 0.0
    total_seconds: float = 0.0
    components: dict[str, Installed] = field(default_factory=dict)
    memory_mib: dict[str, float] = field(default_factory=dict)  # namespace/pod/container -> working set
    absent: dict[str, str] = field(default_factory=dict)  # component -> why it is not there (--llmc-no-install)

    def summary(self) -> str:
        parts = [
            f"{i.name} {i.version}: "
            + ("already installed, " if i.skipped else f"apply {i.apply_seconds:.0f} s, ")
            + f"usable {i.ready_seconds:.0f} s"
            for i in self.components.values()
        ]
        memory = f", controllers' memory {sum(self.memory_mib.values()):.0f} MiB" if self.memory_mib else ""
        return (
            f"stack: images {self.build_seconds:.0f} s, total {self.total_seconds:.0f} s{memory} ({'; '.join(parts)})"
        )


class Target(Protocol):
    """What the installer needs from a testbed (TestbedCluster is one)."""

    kubeconfig: Path
    supply: ImageSupply

    def clients(self) -> Clients: ...

    def load_images(self, images: list[str]) -> None: ...


def install(components: list[Component], target: Target) -> StackFigures:
    """Install what is missing or different, in dependency order, others in parallel."""
    started = time.monotonic()
    mode, kube, kubeconfig = target.supply.mode, target.clients(), target.kubeconfig
    figures = StackFigures()
    by_name = {c.name: c for c in components}
    for c in components:
        missing = [d for d in c.after if d not in by_name]
        if missing:
            raise ValueError(f"{c.name} needs {missing} in the same install")
    objects = {c.name: c.objects(mode) for c in components}
    keys = {c.name: f"{c.version} {digest(objects[c.name])}" for c in components}
    record = _read_record(kube)
    todo = [c for c in components if record.get(c.name) != keys[c.name]]
    log.info(
        "%s to install or update; %s recorded as installed (re-checked)",
        ", ".join(f"{c.name} {c.version}" for c in todo) or "nothing",
        ", ".join(c.name for c in components if c not in todo) or "none",
    )

    if mode is Mode.SOURCE and todo:
        build_started = time.monotonic()
        target.load_images(_build_images({c.name for c in todo}))
        figures.build_seconds = time.monotonic() - build_started

    def one(c: Component, deps: list[Future[Installed]]) -> Installed:
        for dep in deps:
            dep.result()  # a failed dependency fails this one too
        skipped = c not in todo
        if skipped:
            try:
                ready = wait_usable(c, objects[c.name], kube, RECHECK_SECONDS)
                log.info("%s %s already installed, usable", c.name, c.version)
                return Installed(c.name, c.version, c.namespace, True, 0.0, ready)
            except WaitTimeout:  # recorded but since broken or removed: install it again
                skipped = False
        t = time.monotonic()
        log.info(
            "%s %s: applying %d objects, then waiting until usable (at most %.0f s)",
            c.name,
            c.version,
            len(objects[c.name]),
            c.timeout,
        )
        with progress.step(log, f"kubectl apply {c.name}", quiet=True):
            apply(objects[c.name], kubeconfig)
        apply_seconds = time.monotonic() - t
        ready = wait_usable(c, objects[c.name], kube, c.timeout)
        with record_lock:
            _write_record(kube, c.name, keys[c.name])
        log.info("%s %s installed, usable in %.0f s", c.name, c.version, ready)
        return Installed(c.name, c.version, c.namespace, False, apply_seconds, ready)

    record_lock = threading.Lock()
    futures: dict[str, Future[Installed]] = {}
    with ThreadPoolExecutor(max_workers=len(components)) as pool:
        for c in _ordered(components):
            futures[c.name] = pool.submit(one, c, [futures[d] for d in c.after])
        errors = []
        for name, future in futures.items():
            try:
                figures.components[name] = future.result()
            except Exception as e:
                errors.append(f"{name}: {e}")
    if errors:
        raise RuntimeError("stack install failed:\n" + "\n".join(errors))
    figures.total_seconds = time.monotonic() - started
    figures.memory_mib = container_memory_mib(kube, {c.namespace for c in components})
    log.info(figures.summary())
    return figures


def _ordered(components: list[Component]) -> list[Component]:
    """Dependencies before dependents (so their futures exist when a dependent is submitted)."""
    done: list[Component] = []
    pending = list(components)
    while pending:
        ready = [c for c in pending if all(d in {x.name for x in done} for d in c.after)]
        if not ready:
            raise ValueError(f"dependency cycle among {[c.name for c in pending]}")
        done += ready
        pending = [c for c in pending if c not in ready]
    return done


def _build_images(names: set[str]) -> list[str]:
    built = stack_images.build_controllers({n for n in names if n in stack_images.go_builds()})
    if "prometheus" in names:
        built.append(stack_images.build_prometheus())
    return built


def apply(objects: list[Object], kubeconfig: Path, timeout: float = 180) -> None:
    """`kubectl apply --server-side`, as the projects' install docs say (Kueue's CRDs are too big for
    client-side apply's annotation)."""
    proc = subprocess.run(
        [kubectl(), "apply", "--server-side", "--force-conflicts", f"--field-manager={FIELD_MANAGER}", "-f", "-"],
        input=yaml.dump_all(objects, Dumper=yaml.CSafeDumper, sort_keys=False),
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
    )
    if proc.returncode != 0:
        raise RuntimeError(f"kubectl apply failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")


def _read_record(kube: Clients) -> dict[str, str]:
    try:
        cm = kube.core.read_namespaced_config_map(RECORD[1], RECORD[0])
    except ApiException as e:
        if e.status == 404:
            return {}
        raise
    return dict(cm.data or {})


def _write_record(kube: Clients, name: str, key: str) -> None:
    body = {"metadata": {"name": RECORD[1], "namespace": RECORD[0]}, "data": {name: key}}
    try:
        kube.core.patch_namespaced_config_map(RECORD[1], RECORD[0], body)
    except ApiException as e:
        if e.status != 404:
            raise
        kube.core.create_namespaced_config_map(RECORD[0], body)


def describe_record(kube: Clients) -> str:
    return json.dumps(_read_record(kube), indent=2, sort_keys=True)
