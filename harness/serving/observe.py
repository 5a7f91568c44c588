"""Reading mock vLLM from outside: a member's ring state through the API server, and streams through
a Service on 127.0.0.1 (the only address load may go to)."""

from __future__ import annotations

import json
import time
from typing import Any

import openai

from harness.kube.client import Clients
from harness.kube.waits import wait_until
from harness.serving.manifests import PORT

RING_TIMEOUT = (2, 3)  # seconds to connect (to the API server), to read (the answer through its proxy)


def ring_state(kube: Clients, namespace: str, pod: str) -> dict[str, Any]:
    """The member's /ring (phase, reason, joined, placement, itl_slowdown), via the pod proxy.

    Bounded: the API server's proxy to a pod that is going away (its IP no longer answers) hangs
    for about 30 s, and a wait that polls the ring would measure that hang instead of the group."""
    # Unparsed (the client would turn JSON into a Python repr): an HTTPResponse, typed as str.
    reply: Any = kube.core.connect_get_namespaced_pod_proxy_with_path(
        f"{pod}:{PORT}", namespace, "ring", _preload_content=False, _request_timeout=RING_TIMEOUT
    )
    seen: dict[str, Any] = json.loads(reply.data)
    return seen


def timed_stream(host_port: int, tokens: int = 8, timeout: float = 10) -> tuple[int, float | None]:
    """One streamed chat completion through 127.0.0.1:host_port; returns the tokens received and the
    seconds to the first one (None without any)."""
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{host_port}/v1", api_key="none", max_retries=0, timeout=timeout)
    sent = time.monotonic()
    stream = client.chat.completions.create(
        model="mock-model", messages=[{"role": "user", "content": "hi"}], max_tokens=tokens, stream=True
    )
    got, first = 0, None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            first = first if first is not None else time.monotonic() - sent
            got += 1
    return got, first


def stream_chat(host_port: int, tokens: int = 8) -> int:
    """One streamed chat completion through 127.0.0.1:host_port; returns the tokens received."""
    return timed_stream(host_port, tokens)[0]


def serves(host_port: int, requests: int, timeout: float = 60) -> None:
    """Waits (bounded) for the first full stream through the port, then asserts `requests` more."""

    def one() -> tuple[bool, str]:
        try:
            got = stream_chat(host_port)
        except openai.APIError as e:  # refused, reset or an error status: not serving yet
            return False, f"{type(e).__name__}: {e}"
        return got == 8, f"{got} of 8 tokens streamed"

    wait_until(one, timeout, f"a full stream through 127.0.0.1:{host_port}")
    for i in range(requests):
        done, seen = one()
        if not done:
            raise AssertionError(f"stream {i + 1} of {requests} through 127.0.0.1:{host_port}: {seen}")
