"""What a check concludes, besides passing: the two exceptions library code raises. Only the pytest
plugin (harness/plugin.py) turns them into pytest's outcomes: CheckFailed fails the check,
NotApplicable skips it as "not applicable". They sit at the bottom of the layers (see .importlinter),
so any layer can say either."""

from __future__ import annotations

from collections.abc import Mapping


class CheckFailed(AssertionError):
    """A check's claim does not hold; the message carries the evidence, and `figures` what the check
    measured before it judged (name -> value), so that a failed run still reports them."""

    def __init__(self, *args: object, figures: Mapping[str, float] | None = None) -> None:
        super().__init__(*args)
        self.figures: dict[str, float] = dict(figures or {})


class NotApplicable(Exception):
    """The check cannot apply to this cluster (the message says what it lacks). Library code raises
    it; the pytest plugin alone turns it into the check's "not applicable" verdict."""
