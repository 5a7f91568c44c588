"""Fixtures for mock-vllm tests: real processes on 127.0.0.1, killed at the end of each test."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest
from mock_process import MockVLLM


@pytest.fixture
def spawn() -> Iterator[Any]:
    """spawn(args, env, wait_healthy) starts a process that is killed at the end of the test."""
    started: list[MockVLLM] = []

    def _spawn(
        args: Sequence[str] = (), env: Mapping[str, str] | None = None, wait_healthy: bool = True, port: int = 0
    ) -> MockVLLM:
        server = MockVLLM(args=args, env=env or {}, port=port) if port else MockVLLM(args=args, env=env or {})
        started.append(server)
        return server.start(wait_healthy=wait_healthy)

    yield _spawn
    for server in started:
        server.stop()
