"""LLM-like load: Locust streaming chat completions against 127.0.0.1, measured per token."""

from harness.load.results import LoadResult, Mark, Percentiles, Second
from harness.load.runner import LoadSpec, RunningLoad, background, run, start
from harness.load.target import NoModel, TargetRefused, check_target, served_model

__all__ = [
    "LoadResult",
    "LoadSpec",
    "Mark",
    "NoModel",
    "Percentiles",
    "RunningLoad",
    "Second",
    "TargetRefused",
    "background",
    "check_target",
    "run",
    "served_model",
    "start",
]
