"""--max-num-seqs runs that many at once, --max-waiting-queue-length more wait, and beyond that: 429."""

from __future__ import annotations

import threading
from typing import Any

import openai
import pytest
from mock_process import MODEL, samples


def test_queue_full_gives_429_and_metrics_show_running_and_waiting(spawn: Any) -> None:
    server = spawn(["--max-num-seqs", "2", "--max-waiting-queue-length", "1", "--inter-token-latency", "20"])
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="none", max_retries=0, timeout=20)
    label = f'{{model_name="{MODEL}"}}'
    done: list[int] = []

    def long_request() -> None:
        reply = client.completions.create(model=MODEL, prompt="x", max_tokens=40)  # ~0.8 s
        assert reply.usage is not None
        done.append(reply.usage.completion_tokens)

    threads = [threading.Thread(target=long_request) for _ in range(3)]
    for t in threads:
        t.start()
    server.wait(lambda: samples(server.url)[f"vllm:num_requests_waiting{label}"] == 1, 5, "with one request waiting")
    assert samples(server.url)[f"vllm:num_requests_running{label}"] == 2
    with pytest.raises(openai.RateLimitError, match="waiting queue is full"):
        client.completions.create(model=MODEL, prompt="x", max_tokens=1)
    for t in threads:
        t.join(timeout=10)
    assert done == [40, 40, 40]  # the one that waited ran once a slot freed
    m = samples(server.url)
    assert m['llmc:requests_rejected_total{reason="queue_full"}'] == 1
    assert m[f"vllm:request_queue_time_seconds_count{label}"] == 3
    assert m[f"vllm:num_requests_waiting{label}"] == 0 and m[f"vllm:num_requests_running{label}"] == 0
