"""Prometheus metrics under vLLM's names (and model_name label), plus the mock's own ring metrics.

Dashboards, KEDA triggers and Prometheus rules written for vLLM read these unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

try:  # the *_created series vLLM does not export; absent before prometheus-client 0.17
    from prometheus_client import disable_created_metrics

    disable_created_metrics()
except ImportError:  # pragma: no cover
    pass

# vLLM's buckets (vllm/v1/metrics/loggers.py), so histogram_quantile reads the same.
TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0)
ITL_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0)
REQUEST_BUCKETS = (0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class ModelSeries:
    """The served model's labelled series, looked up once: the token loop touches them per token."""

    running: Any
    waiting: Any
    kv_cache: Any
    prompt_tokens: Any
    generation_tokens: Any
    ttft: Any
    itl: Any
    e2e: Any
    queue_time: Any
    success: dict[str, Any]  # by finished_reason


class EngineMetrics:
    def __init__(self, model_name: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r, label = self.registry, ["model_name"]
        self.running = Gauge("vllm:num_requests_running", "Requests in model execution batches.", label, registry=r)
        self.waiting = Gauge("vllm:num_requests_waiting", "Requests waiting to be processed.", label, registry=r)
        self.kv_cache = Gauge(
            "vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", label, registry=r
        )
        self.success = Counter(
            "vllm:request_success", "Count of successfully processed requests.", [*label, "finished_reason"], registry=r
        )
        self.prompt_tokens = Counter("vllm:prompt_tokens", "Number of prefill tokens processed.", label, registry=r)
        self.generation_tokens = Counter(
            "vllm:generation_tokens", "Number of generation tokens processed.", label, registry=r
        )
        self.ttft = Histogram(
            "vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", label,
            buckets=TTFT_BUCKETS, registry=r,
        )  # fmt: skip
        self.itl = Histogram(
            "vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", label,
            buckets=ITL_BUCKETS, registry=r,
        )  # fmt: skip
        self.e2e = Histogram(
            "vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", label,
            buckets=REQUEST_BUCKETS, registry=r,
        )  # fmt: skip
        self.queue_time = Histogram(
            "vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.", label,
            buckets=REQUEST_BUCKETS, registry=r,
        )  # fmt: skip
        # The mock's own: what the group ring is doing (not vLLM names; vLLM has no such metric).
        self.ring_formed = Gauge(
            "llmc:ring_formed", "1 when every group member joined and the ring serves.", registry=r
        )
        self.ring_broken = Gauge("llmc:ring_broken", "1 when a member was lost; only a new group serves.", registry=r)
        self.ring_members = Gauge(
            "llmc:ring_members", "Members joined to the leader's ring, leader included.", registry=r
        )
        self.slowdown = Gauge("llmc:itl_slowdown_factor", "Inter-token latency factor from the placement.", registry=r)
        self.rejected = Counter(
            "llmc:requests_rejected", "Requests refused before running.", ["reason"], registry=r
        )  # queue_full, draining, ring_not_ready, injected
        self.draining = Gauge("llmc:draining", "1 after SIGTERM: not accepting, finishing in-flight.", registry=r)
        self.slowdown.set(1)
        self.model = model_name

    def series(self) -> ModelSeries:
        label = {"model_name": self.model}
        return ModelSeries(
            running=self.running.labels(**label),
            waiting=self.waiting.labels(**label),
            kv_cache=self.kv_cache.labels(**label),
            prompt_tokens=self.prompt_tokens.labels(**label),
            generation_tokens=self.generation_tokens.labels(**label),
            ttft=self.ttft.labels(**label),
            itl=self.itl.labels(**label),
            e2e=self.e2e.labels(**label),
            queue_time=self.queue_time.labels(**label),
            # Both reasons exported from the start (at 0), so rate() queries have a series to read.
            success={r: self.success.labels(finished_reason=r, **label) for r in ("stop", "length", "abort")},
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
