"""LLM-like load: Locust streaming chat completions against 127.0.0.1, measured per token."""

from harness.load.results import LoadResult, Mark, Percentiles, Second
from harness.load.runner import LoadSpec, RunningLoad, background, run, start
from harness.load.target import TargetRefused, check_target

__all__ = [
    "LoadResult",
    "LoadSpec",
    "Mark",
    "Percentiles",
    "RunningLoad",
    "Second",
    "TargetRefused",
    "background",
    "check_target",
    "run",
    "start",
]
