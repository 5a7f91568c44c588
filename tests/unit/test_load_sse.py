"""The load's SSE parser: what vLLM, proxies and other OpenAI-compatible servers may send, however the
network splits it."""

from __future__ import annotations

import itertools
import json

from hypothesis import given
from hypothesis import strategies as st

from harness.load.sse import EventStream

TOKEN = '{"choices":[{"delta":{"content":"hi"}}]}'


def parse(*chunks: bytes) -> list[str]:
    stream = EventStream()
    return [data for chunk in chunks for data in stream.feed(chunk)]


def test_vllm_stream_and_done() -> None:
    assert parse(f"data: {TOKEN}\n\ndata: [DONE]\n\n".encode()) == [TOKEN, "[DONE]"]


def test_comments_are_not_events() -> None:
    assert parse(b": keep-alive\n\n:another\ndata: [DONE]\n\n") == ["[DONE]"]


def test_crlf_and_cr_line_ends() -> None:
    assert parse(b"data: a\r\n\r\ndata: b\r\rdata: c\n\n") == ["a", "b", "c"]


def test_a_crlf_split_between_chunks_is_one_line_end() -> None:
    assert parse(b"data: a\r", b"\n\r", b"\ndata: b\r\n\r\n") == ["a", "b"]
    assert parse(b"data: a\r", b"", b"\ndata: b\r\n\r\n") == ["a\nb"], "an empty chunk between CR and LF"


def test_multi_line_data_is_joined_with_newlines() -> None:
    assert parse(b'data: {"a":\ndata:1}\n\n') == ['{"a":\n1}']
    assert json.loads(parse(b'data: {"a":\ndata:1}\n\n')[0]) == {"a": 1}


def test_data_with_or_without_the_space() -> None:
    assert parse(b"data:x\n\ndata:  y\n\ndata\n\n") == ["x", " y", ""]


def test_other_fields_are_skipped_and_an_event_without_data_is_none() -> None:
    assert parse(b"event: message\nid: 7\nretry: 1000\ndata: x\n\nevent: ping\n\n") == ["x"]


def test_an_event_is_given_when_its_blank_line_arrives() -> None:
    stream = EventStream()
    assert stream.feed(b"da") == []
    assert stream.feed(b"ta: [DO") == []
    assert stream.feed(b"NE]\n") == []
    assert stream.feed(b"\n") == ["[DONE]"]


def test_utf8_split_inside_a_character() -> None:
    text = "data: héllo\n\n".encode()
    cut = text.index(b"\xa9")  # inside é
    assert parse(text[:cut], text[cut:]) == ["héllo"]


def test_an_in_stream_error_payload_is_an_event_like_any_other() -> None:
    error = '{"error":{"message":"the engine stopped","type":"ServiceUnavailableError","code":503}}'
    events = parse(f"data: {TOKEN}\n\ndata: {error}\n\ndata: [DONE]\n\n".encode())
    assert events == [TOKEN, error, "[DONE]"]
    assert json.loads(events[1])["error"]["message"] == "the engine stopped"


def test_an_unfinished_event_at_the_end_is_not_given() -> None:
    assert parse(b"data: a\n\ndata: b\n") == ["a"]


STREAM = (
    b": keep-alive\r\n\r\n"
    b"data: " + TOKEN.encode() + b"\r\n\r\n"
    b"event: x\rdata: one\rdata: two\r\r"
    b'data:{"error":{"message":"gone"}}\n\n'
    b"data: [DONE]\r\n\r\n"
)


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_any_split_into_chunks_gives_the_same_events(cuts: list[int]) -> None:
    points = [0, *sorted(cuts), len(STREAM)]
    chunks = [STREAM[a:b] for a, b in itertools.pairwise(points)]
    assert parse(*chunks) == [TOKEN, "one\ntwo", '{"error":{"message":"gone"}}', "[DONE]"]
