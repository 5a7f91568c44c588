"""Command line and environment: what one mock vLLM process is asked to be.

Flags are named like llm-d-inference-sim's where they overlap, so manifests read the same.
Times on the command line are in milliseconds (as there), except --shutdown-timeout (seconds, as vLLM).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from mock_vllm.topology import Placement, PlacementError

FAILURE_TYPES = (
    "rate_limit",
    "invalid_api_key",
    "context_length",
    "server_error",
    "invalid_request",
    "model_not_found",
)


class ConfigError(ValueError):
    """A bad flag or environment variable; the message names it."""


@dataclass(frozen=True)
class Latency:
    time_to_first_token_ms: float = 0.0
    time_to_first_token_std_dev_ms: float = 0.0
    inter_token_latency_ms: float = 0.0
    inter_token_latency_std_dev_ms: float = 0.0
    prefill_time_per_token_ms: float = 0.0
    # Inter-token latency multiplier when all --max-num-seqs slots are busy (1: no slowdown under load);
    # it grows linearly from 1 with one running sequence, like a batch getting bigger.
    time_factor_under_load: float = 1.0


@dataclass(frozen=True)
class TopologyPenalty:
    """Slowdowns the leader applies to inter-token latency for a badly placed group (multiplied)."""

    numa_misaligned: float = 1.5  # some member's GPUs and NICs are not on shared NUMA nodes
    cross_rack: float = 2.0  # the group's members sit in more than one rack


@dataclass(frozen=True)
class Group:
    """The LWS multi-host group this process belongs to (size 1: a single-host engine)."""

    size: int = 1
    worker_index: int = 0
    leader_address: str = ""
    ring_port: int = 8000  # the leader's port that workers join at
    heartbeat_seconds: float = 2.0  # each side sends a beat this often
    # Silence longer than this loses the peer. Lenient because a CPU-starved pod on a 2-core testbed
    # can stall for seconds; a killed member's closed connection is noticed at once anyway.
    timeout_seconds: float = 15.0

    @property
    def is_leader(self) -> bool:
        return self.worker_index == 0


@dataclass(frozen=True)
class Config:
    port: int = 8000
    host: str = "0.0.0.0"
    model: str = "mock-model"
    served_model_names: tuple[str, ...] = ()
    max_num_seqs: int = 256
    max_waiting_queue_length: int = 1000
    max_model_len: int = 4096
    default_max_tokens: int = 16
    kv_cache_size: int = 1024  # blocks, as vLLM's num_gpu_blocks
    block_size: int = 16
    shutdown_timeout: float = 30.0
    failure_injection_rate: float = 0.0  # percent of requests that fail on purpose
    failure_types: tuple[str, ...] = FAILURE_TYPES
    seed: int | None = None
    latency: Latency = field(default_factory=Latency)
    penalty: TopologyPenalty = field(default_factory=TopologyPenalty)
    group: Group = field(default_factory=Group)
    placement: Placement = field(default_factory=Placement)

    @property
    def model_names(self) -> tuple[str, ...]:
        """Names clients may ask for; the first is the one reported (like vLLM's --served-model-name)."""
        return self.served_model_names or (self.model,)

    @property
    def kv_cache_tokens(self) -> int:
        return self.kv_cache_size * self.block_size


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mock-vllm", description="An inference engine that behaves like vLLM, no GPU.")
    a = p.add_argument
    a("--port", type=int, default=8000, help="HTTP port (API, /health, /metrics; the ring on the leader)")
    a("--host", default="0.0.0.0", help="address to listen on")
    a("--model", default="mock-model", help="model name")
    a("--served-model-name", nargs="+", default=[], help="names the API answers to (default: --model)")
    a("--max-num-seqs", type=int, default=256, help="sequences generated at once")
    a("--max-waiting-queue-length", type=int, default=1000, help="requests waiting for a slot; beyond: 429")
    a("--max-model-len", type=int, default=4096, help="prompt + completion tokens per request")
    a("--default-max-tokens", type=int, default=16, help="completion length when a request sets no max_tokens")
    a("--kv-cache-size", type=int, default=1024, help="KV cache blocks (for vllm:kv_cache_usage_perc)")
    a("--block-size", type=int, default=16, help="tokens per KV cache block")
    a("--time-to-first-token", type=float, default=0.0, help="ms")
    a("--time-to-first-token-std-dev", type=float, default=0.0, help="ms")
    a("--inter-token-latency", type=float, default=0.0, help="ms")
    a("--inter-token-latency-std-dev", type=float, default=0.0, help="ms")
    a("--prefill-time-per-token", type=float, default=0.0, help="ms per prompt token, added to the TTFT")
    a("--time-factor-under-load", type=float, default=1.0, help="ITL multiplier with all slots busy")
    a("--shutdown-timeout", type=float, default=30.0, help="seconds to finish in-flight requests after SIGTERM")
    a("--failure-injection-rate", type=float, default=0.0, help="percent of requests failed on purpose")
    a("--failure-types", nargs="+", default=list(FAILURE_TYPES), help=f"from {', '.join(FAILURE_TYPES)}")
    a("--seed", type=int, default=None, help="random seed for jitter and failure injection")
    a("--numa-misaligned-slowdown", type=float, default=1.5, help="ITL factor when GPU and NIC NUMA differ")
    a("--cross-rack-slowdown", type=float, default=2.0, help="ITL factor when the group spans racks")
    a("--ring-port", type=int, default=None, help="the leader's port workers join at (default: --port)")
    a("--ring-heartbeat", type=float, default=2.0, help="seconds between ring heartbeats")
    a("--ring-timeout", type=float, default=15.0, help="seconds of silence after which a ring member is lost")
    return p


def _check(errors: list[str], ok: bool, what: str) -> None:
    if not ok:
        errors.append(what)


def parse(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """The config from flags and the LWS / fake-driver environment; ConfigError lists every problem."""
    ns = _parser().parse_args(argv)
    env = os.environ if environ is None else environ
    errors: list[str] = []
    _check(errors, 1 <= ns.port <= 65535, f"--port: {ns.port} is not a port (1..65535)")
    _check(errors, ns.max_num_seqs >= 1, f"--max-num-seqs: {ns.max_num_seqs} must be at least 1")
    _check(errors, ns.max_waiting_queue_length >= 0, "--max-waiting-queue-length: must not be negative")
    _check(errors, ns.max_model_len >= 1, "--max-model-len: must be at least 1")
    _check(errors, 1 <= ns.default_max_tokens <= ns.max_model_len, "--default-max-tokens: must be 1..max-model-len")
    _check(errors, ns.kv_cache_size >= 1 and ns.block_size >= 1, "--kv-cache-size/--block-size: must be at least 1")
    for flag in ("time_to_first_token", "time_to_first_token_std_dev", "inter_token_latency"):
        _check(errors, getattr(ns, flag) >= 0, f"--{flag.replace('_', '-')}: must not be negative")
    for flag in ("inter_token_latency_std_dev", "prefill_time_per_token", "shutdown_timeout"):
        _check(errors, getattr(ns, flag) >= 0, f"--{flag.replace('_', '-')}: must not be negative")
    for flag in ("time_factor_under_load", "numa_misaligned_slowdown", "cross_rack_slowdown"):
        _check(errors, getattr(ns, flag) >= 1, f"--{flag.replace('_', '-')}: must be at least 1 (a slowdown)")
    _check(errors, 0 <= ns.failure_injection_rate <= 100, "--failure-injection-rate: a percent, 0..100")
    unknown = sorted(set(ns.failure_types) - set(FAILURE_TYPES))
    _check(errors, not unknown, f"--failure-types: unknown {unknown}; known: {', '.join(FAILURE_TYPES)}")
    _check(errors, ns.ring_heartbeat > 0, "--ring-heartbeat: must be positive")
    _check(errors, ns.ring_timeout > ns.ring_heartbeat, "--ring-timeout: must be longer than --ring-heartbeat")
    group = _group(env, ns.ring_port or ns.port, errors)
    group = replace(group, heartbeat_seconds=ns.ring_heartbeat, timeout_seconds=ns.ring_timeout)
    try:
        placement = Placement.from_env(env)
    except PlacementError as e:
        errors.append(str(e))
        placement = Placement()
    if errors:
        raise ConfigError("invalid mock-vllm configuration:\n  " + "\n  ".join(errors))
    return Config(
        port=ns.port,
        host=ns.host,
        model=ns.model,
        served_model_names=tuple(ns.served_model_name),
        max_num_seqs=ns.max_num_seqs,
        max_waiting_queue_length=ns.max_waiting_queue_length,
        max_model_len=ns.max_model_len,
        default_max_tokens=ns.default_max_tokens,
        kv_cache_size=ns.kv_cache_size,
        block_size=ns.block_size,
        shutdown_timeout=ns.shutdown_timeout,
        failure_injection_rate=ns.failure_injection_rate,
        failure_types=tuple(ns.failure_types),
        seed=ns.seed,
        latency=Latency(
            time_to_first_token_ms=ns.time_to_first_token,
            time_to_first_token_std_dev_ms=ns.time_to_first_token_std_dev,
            inter_token_latency_ms=ns.inter_token_latency,
            inter_token_latency_std_dev_ms=ns.inter_token_latency_std_dev,
            prefill_time_per_token_ms=ns.prefill_time_per_token,
            time_factor_under_load=ns.time_factor_under_load,
        ),
        penalty=TopologyPenalty(numa_misaligned=ns.numa_misaligned_slowdown, cross_rack=ns.cross_rack_slowdown),
        group=group,
        placement=placement,
    )


def _group(env: Mapping[str, str], ring_port: int, errors: list[str]) -> Group:
    """LeaderWorkerSet's env: LWS_GROUP_SIZE, LWS_WORKER_INDEX, LWS_LEADER_ADDRESS (absent: a group of one)."""
    values: dict[str, int] = {}
    for name, default in (("LWS_GROUP_SIZE", 1), ("LWS_WORKER_INDEX", 0)):
        raw = env.get(name, "")
        try:
            values[name] = int(raw) if raw else default
        except ValueError:
            errors.append(f"{name}: {raw!r} is not an integer")
            values[name] = default
    size, index = values["LWS_GROUP_SIZE"], values["LWS_WORKER_INDEX"]
    leader = env.get("LWS_LEADER_ADDRESS", "")
    _check(errors, size >= 1, f"LWS_GROUP_SIZE: {size} must be at least 1")
    _check(errors, 0 <= index < max(size, 1), f"LWS_WORKER_INDEX: {index} is outside the group (size {size})")
    _check(errors, index == 0 or bool(leader), "LWS_LEADER_ADDRESS: a worker (index > 0) needs its leader's address")
    return Group(size=size, worker_index=index, leader_address=leader, ring_port=ring_port)
