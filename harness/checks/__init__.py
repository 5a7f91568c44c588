"""Conformance checks as functions: each asserts one claim and raises CheckFailed with its evidence."""


class CheckFailed(AssertionError):
    """A check's claim does not hold; the message carries the evidence."""
