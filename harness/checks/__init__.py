"""Conformance checks as functions: each asserts one claim and raises CheckFailed with its evidence."""

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
