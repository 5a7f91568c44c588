"""Conformance checks as functions: each asserts one claim and raises CheckFailed with its evidence."""

from __future__ import annotations

from harness.verdicts import CheckFailed, NotApplicable

__all__ = ["CheckFailed", "NotApplicable"]
