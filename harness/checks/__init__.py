"""Conformance checks as functions: each asserts one claim and raises CheckFailed with its evidence."""


class CheckFailed(AssertionError):
    """A check's claim does not hold; the message carries the evidence."""


class NotApplicable(Exception):
    """The check cannot apply to this cluster (the message says what it lacks). Library code raises
    it; the pytest plugin alone turns it into the check's "not applicable" verdict."""
