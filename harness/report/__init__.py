"""The conformance report: what checks record while they run, and the files written from it."""

from harness.report.record import CheckRecord

__all__ = ["CheckRecord"]
