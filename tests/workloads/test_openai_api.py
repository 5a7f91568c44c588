"""The official openai client works against mock-vllm unchanged, streaming and not."""

from __future__ import annotations

from typing import Any

import openai
import pytest
import requests
from mock_process import MODEL, MockVLLM


@pytest.fixture(scope="module")
def server() -> Any:
    s = MockVLLM(
        args=["--time-to-first-token", "20", "--inter-token-latency", "2", "--served-model-name", MODEL, "alias"]
    )
    s.start()
    yield s
    s.stop()


@pytest.fixture
def client(server: MockVLLM) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="none", max_retries=0, timeout=10)


def test_models_lists_every_served_name(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == [MODEL, "alias"]


def test_chat_completion(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "say five words"}], max_tokens=5
    )
    assert reply.choices[0].finish_reason == "length"
    assert len((reply.choices[0].message.content or "").split()) == 5
    assert reply.usage is not None and reply.usage.completion_tokens == 5 and reply.usage.prompt_tokens > 0


def test_chat_streaming_with_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="alias",
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
        max_tokens=7,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    content = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content) == 7
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["length"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 7


def test_completion_streaming_and_not(client: openai.OpenAI) -> None:
    plain = client.completions.create(model=MODEL, prompt="once upon a time", max_tokens=4)
    assert len(plain.choices[0].text.split()) == 4 and plain.usage is not None and plain.usage.prompt_tokens == 4
    pieces = [
        c.choices[0].text for c in client.completions.create(model=MODEL, prompt=[1, 2, 3], max_tokens=6, stream=True)
    ]
    assert len("".join(pieces).split()) == 6


def test_errors_are_openai_exceptions(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        client.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.BadRequestError, match="messages"):
        client.chat.completions.create(model=MODEL, messages=[])
    with pytest.raises(openai.BadRequestError, match="maximum context length"):
        client.completions.create(model=MODEL, prompt="x", max_tokens=10_000)


def test_failure_injection_header(server: MockVLLM) -> None:
    body = {"model": MODEL, "prompt": "x"}
    reply = requests.post(f"{server.url}/v1/completions", json=body, headers={"X-Mock-Fail": "rate_limit"}, timeout=10)
    assert reply.status_code == 429 and reply.json()["error"]["type"] == "RateLimitError"
    reply = requests.post(f"{server.url}/v1/completions", json=body, headers={"X-Mock-Fail": "nonsense"}, timeout=10)
    assert reply.status_code == 400 and "X-Mock-Fail" in reply.json()["error"]["message"]


def test_failure_injection_rate(spawn: Any) -> None:
    s = spawn(["--failure-injection-rate", "100", "--failure-types", "server_error", "--seed", "1"])
    client = openai.OpenAI(base_url=f"{s.url}/v1", api_key="none", max_retries=0, timeout=10)
    with pytest.raises(openai.InternalServerError, match="injected"):
        client.completions.create(model=MODEL, prompt="x")
