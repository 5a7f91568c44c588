"""The stack on a cluster the harness did not create (harness/cluster/existing.py): use what its
owners installed, and install only what is missing."""

from __future__ import annotations

import logging
from dataclasses import replace

from kubernetes.client.exceptions import ApiException

from harness.cluster.discover import Found
from harness.cluster.existing import ExistingCluster
from harness.stack import StackFigures, components, install
from harness.stack.install import RECORD, Installed
from harness.stack.kueue import KueueOptions

log = logging.getLogger("llmc.cluster")


def ensure_stack(
    cluster: ExistingCluster, allow_install: bool, kueue_options: KueueOptions | None = None
) -> StackFigures:
    """Use the components the cluster has; install the missing ones (or none, with --llmc-no-install).

    Components this harness installed earlier (recorded in kube-system/llm-conformance-stack) go
    through the installer, which only re-checks them; components the cluster's owners installed are
    left exactly as they are."""
    found = cluster.discovery.components
    kube = cluster.clients()
    try:
        recorded = set(kube.core.read_namespaced_config_map(RECORD[1], RECORD[0]).data or {})
    except ApiException as e:
        if e.status != 404:
            raise
        recorded = set()
    theirs: dict[str, Found] = {n: f for n, f in found.items() if f.usable and n not in recorded}
    todo = [c for c in components(kueue_options) if c.name not in theirs]
    absent: dict[str, str] = {}
    if not allow_install:
        for c in todo:
            seen = found.get(c.name)
            absent[c.name] = f"{c.name} is not installed on {cluster.ref.source} and --llmc-no-install was given" + (
                f" (found: {seen.evidence})" if seen else ""
            )
        todo = []
    names = {c.name for c in todo}
    # A dependency the cluster already has is not part of this install.
    todo = [replace(c, after=tuple(d for d in c.after if d in names)) for c in todo]
    figures = install(todo, cluster) if todo else StackFigures()
    for name, f in theirs.items():
        figures.components[name] = Installed(name, f.version, f.namespace, True, 0.0, 0.0)
        log.info("%s %s already on the cluster (%s): left as is", name, f.version or "(version unknown)", f.evidence)
    figures.absent = absent
    return figures
