"""Bad flags and environment are refused at start, each problem named."""

from __future__ import annotations

import subprocess
import sys

import pytest
from mock_vllm.config import ConfigError, parse


def test_defaults_are_a_single_host_leader() -> None:
    config = parse([], {})
    assert config.group.is_leader and config.group.size == 1 and config.model_names == ("mock-model",)
    assert config.placement.numa_aligned is None


def test_every_problem_is_named() -> None:
    env = {"LWS_GROUP_SIZE": "two", "LWS_WORKER_INDEX": "3", "LLMC_GPUS": "a,b", "LLMC_GPU_NUMA": "0"}
    with pytest.raises(ConfigError) as e:
        parse(["--max-num-seqs", "0", "--inter-token-latency", "-1", "--failure-types", "gremlins"], env)
    message = str(e.value)
    for named in ("--max-num-seqs", "--inter-token-latency", "--failure-types: unknown ['gremlins']",
                  "LWS_GROUP_SIZE: 'two' is not an integer", "LWS_WORKER_INDEX: 3 is outside the group",
                  "LLMC_GPU_NUMA: 1 NUMA nodes for 2 devices"):  # fmt: skip
        assert named in message


def test_worker_needs_its_leader() -> None:
    with pytest.raises(ConfigError, match="LWS_LEADER_ADDRESS"):
        parse([], {"LWS_GROUP_SIZE": "2", "LWS_WORKER_INDEX": "1"})


def test_the_console_script_exits_2_with_the_reason() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mock_vllm", "--port", "0"], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 2 and "--port: 0 is not a port" in proc.stderr
