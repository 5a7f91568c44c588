"""The API client's default request timeout: applied to plain calls, never to streams."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
import urllib3
from kubernetes import client, watch
from kubernetes.client import rest
from kubernetes.dynamic import DynamicClient
from kubernetes.stream import stream, ws_client

from harness.kube.client import REQUEST_TIMEOUT, BoundedApiClient, streams

Call = dict[str, Any]


class Body(io.BytesIO):
    """A response body that reads as closed once consumed, as a socket's does (urllib3 streams until then)."""

    def isclosed(self) -> bool:
        return self.tell() >= len(self.getvalue())


@pytest.fixture
def api() -> BoundedApiClient:
    configuration = client.Configuration()
    configuration.host = "https://127.0.0.1:6443"
    return BoundedApiClient(configuration)


@pytest.fixture
def calls(api: BoundedApiClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Call]]:
    """The REST layer, faked: records each request and answers with an empty list (a watch: one event)."""
    seen: list[Call] = []

    def request(method: str, url: str, **kwargs: Any) -> rest.RESTResponse:
        seen.append({"method": method, "url": url, **kwargs})
        if streams(url):
            event = {"type": "ADDED", "object": {"kind": "Pod", "metadata": {"name": "p", "resourceVersion": "2"}}}
            body = (json.dumps(event) + "\n").encode()
        else:
            body = json.dumps({"kind": "PodList", "metadata": {"resourceVersion": "1"}, "items": []}).encode()
        raw = urllib3.HTTPResponse(
            body=Body(body), status=200, headers={"content-type": "application/json"}, preload_content=False
        )
        return rest.RESTResponse(raw)

    monkeypatch.setattr(api.rest_client, "request", request)
    yield seen


def test_a_plain_call_gets_the_default_timeout(api: BoundedApiClient, calls: list[Call]) -> None:
    client.CoreV1Api(api).list_namespaced_pod("ns")
    assert calls[-1]["_request_timeout"] == REQUEST_TIMEOUT


def test_an_explicit_timeout_is_kept(api: BoundedApiClient, calls: list[Call]) -> None:
    client.CoreV1Api(api).list_namespaced_pod("ns", _request_timeout=(2, 3))
    assert calls[-1]["_request_timeout"] == (2, 3)


def test_a_raw_call_gets_the_default_timeout(api: BoundedApiClient, calls: list[Call]) -> None:
    method, url, headers, _, _ = api.param_serialize("GET", "/api/v1/namespaces/ns/services/s:80/proxy/x")
    api.call_api(method, url, header_params=headers)
    assert calls[-1]["_request_timeout"] == REQUEST_TIMEOUT


def test_the_dynamic_client_gets_the_default_timeout(api: BoundedApiClient, calls: list[Call]) -> None:
    dynamic = DynamicClient(api, discoverer=lambda client, cache_file: None)  # no discovery calls
    dynamic.request("get", "/api/v1/namespaces/ns/pods")
    assert calls[-1]["_request_timeout"] == REQUEST_TIMEOUT


def test_a_watch_is_not_cut(api: BoundedApiClient, calls: list[Call]) -> None:
    events = list(watch.Watch().stream(client.CoreV1Api(api).list_namespaced_pod, "ns", timeout_seconds=1))
    assert [e["object"].metadata.name for e in events] == ["p"]
    assert "watch=true" in calls[-1]["url"]
    assert calls[-1]["_request_timeout"] is None


def test_a_followed_log_is_not_cut(api: BoundedApiClient, calls: list[Call]) -> None:
    client.CoreV1Api(api).read_namespaced_pod_log("p", "ns", follow=True, _preload_content=False)
    assert calls[-1]["_request_timeout"] is None


class FakeExec:
    """Stands in for the exec websocket: records how long the stream may run."""

    made: ClassVar[list[FakeExec]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.ran_for: list[float | None] = []
        FakeExec.made.append(self)

    def run_forever(self, timeout: float | None = None) -> None:
        self.ran_for.append(timeout)

    def read_all(self) -> str:
        return "output"


def test_an_exec_stream_is_not_cut(api: BoundedApiClient, calls: list[Call], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ws_client, "WSClient", FakeExec)
    core = client.CoreV1Api(api)
    kept_open = stream(core.connect_get_namespaced_pod_exec, "p", "ns", command=["true"], _preload_content=False)
    assert isinstance(kept_open, FakeExec) and kept_open.ran_for == []
    out = stream(core.connect_get_namespaced_pod_exec, "p", "ns", command=["true"], stdout=True)
    assert out == "output"
    assert FakeExec.made[-1].ran_for == [None]  # runs until the command ends, not for REQUEST_TIMEOUT
    assert calls == []  # the websocket, not the REST layer
    client.CoreV1Api(api).list_namespaced_pod("ns")  # and the client is itself again afterwards
    assert calls[-1]["_request_timeout"] == REQUEST_TIMEOUT


@pytest.mark.parametrize(
    ("url", "streaming"),
    [
        ("https://h/api/v1/pods?watch=true&timeoutSeconds=20", True),
        ("https://h/api/v1/namespaces/n/pods/p/log?follow=true", True),
        ("https://h/api/v1/pods?watch=false", False),
        ("https://h/api/v1/namespaces/n/pods?labelSelector=watch%3Dtrue", False),
        ("https://h/api/v1/pods", False),
    ],
)
def test_streams_are_told_by_their_query(url: str, streaming: bool) -> None:
    assert streams(url) is streaming
