"""Checks that need a stack component declare it: on a cluster without it (an existing cluster run
with --llmc-no-install) the check is not applicable, with the reason, instead of failing."""

from __future__ import annotations

from harness.stack.install import StackFigures
from harness.verdicts import NotApplicable


def requires(stack: StackFigures, *names: str) -> None:
    """Raise NotApplicable (the calling check is not applicable) unless every named component (lws,
    kueue, keda, prometheus) is usable on the cluster."""
    missing = [n for n in names if n not in stack.components]
    if missing:
        raise NotApplicable("; ".join(stack.absent.get(n, f"{n} is not installed") for n in missing))
