"""Checks that need a stack component declare it: on a cluster without it (an existing cluster run
with --llmc-no-install) the check is not applicable, with the reason, instead of failing."""

from __future__ import annotations

import pytest

from harness.report.record import NOT_APPLICABLE
from harness.stack.install import StackFigures


def requires(stack: StackFigures, *names: str) -> None:
    """End the calling test as not applicable unless every named component (lws, kueue, keda,
    prometheus) is usable on the cluster."""
    missing = [n for n in names if n not in stack.components]
    if missing:
        pytest.skip(NOT_APPLICABLE + "; ".join(stack.absent.get(n, f"{n} is not installed") for n in missing))
