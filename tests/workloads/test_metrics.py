"""/metrics is valid Prometheus text with vLLM's names, and counts what was served."""

from __future__ import annotations

from typing import Any

import openai
import requests
from mock_process import MODEL, samples
from prometheus_client.parser import text_string_to_metric_families

VLLM_METRICS = {
    "vllm:num_requests_running": "gauge",
    "vllm:num_requests_waiting": "gauge",
    "vllm:kv_cache_usage_perc": "gauge",
    "vllm:request_success": "counter",
    "vllm:prompt_tokens": "counter",
    "vllm:generation_tokens": "counter",
    "vllm:time_to_first_token_seconds": "histogram",
    "vllm:inter_token_latency_seconds": "histogram",
    "vllm:e2e_request_latency_seconds": "histogram",
    "vllm:request_queue_time_seconds": "histogram",
}


def test_metrics_have_vllm_names_types_and_counts(spawn: Any) -> None:
    server = spawn(["--inter-token-latency", "1"])
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="none", max_retries=0, timeout=10)
    for _ in range(3):
        client.completions.create(model=MODEL, prompt="one two three", max_tokens=5)
    list(client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}], stream=True))

    text = requests.get(f"{server.url}/metrics", timeout=5).text
    families = {f.name: f.type for f in text_string_to_metric_families(text)}
    assert {name: families.get(name) for name in VLLM_METRICS} == VLLM_METRICS
    assert "_created" not in text  # vLLM exports none

    m, label = samples(server.url), f'model_name="{MODEL}"'
    assert m[f'vllm:request_success_total{{finished_reason="length",{label}}}'] == 3
    assert m[f'vllm:request_success_total{{finished_reason="stop",{label}}}'] == 1
    assert m[f"vllm:prompt_tokens_total{{{label}}}"] == 3 * 3 + 1 + 4
    assert m[f"vllm:generation_tokens_total{{{label}}}"] == 3 * 5 + 16
    assert m[f"vllm:time_to_first_token_seconds_count{{{label}}}"] == 4
    assert m[f"vllm:inter_token_latency_seconds_count{{{label}}}"] == 3 * 4 + 15
    assert m[f'vllm:e2e_request_latency_seconds_bucket{{le="+Inf",{label}}}'] == 4
    assert m[f"vllm:num_requests_running{{{label}}}"] == 0
    assert m["llmc:ring_formed"] == 1 and m["llmc:ring_broken"] == 0


def test_prefill_time_counts_per_prompt_token(spawn: Any) -> None:
    server = spawn(["--time-to-first-token", "10", "--prefill-time-per-token", "5"])
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="none", max_retries=0, timeout=10)
    client.completions.create(model=MODEL, prompt=" ".join(["word"] * 40), max_tokens=1)
    ttft = samples(server.url)[f'vllm:time_to_first_token_seconds_sum{{model_name="{MODEL}"}}']
    assert ttft >= 0.010 + 40 * 0.005  # a lower bound: the model's cost is there (timing itself is benchmarked)
