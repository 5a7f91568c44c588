"""OpenAI request validation and response shapes (pure: no I/O).

Every malformed request becomes an APIError naming the field, rendered as an OpenAI error body, so
clients raise their usual exceptions (BadRequestError, NotFoundError, RateLimitError, ...).
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["chat", "completion"]
ROLES = ("system", "user", "assistant", "tool", "developer", "function")
# Words the mock "generates": the text is filler; its token count and timing are what matter.
VOCABULARY = (
    "the", "model", "streams", "tokens", "at", "a", "steady", "pace",
    "while", "the", "ring", "holds", "and", "the", "group", "stays", "whole",
)  # fmt: skip


@dataclass
class APIError(Exception):
    status: int
    message: str
    type: str = "BadRequestError"
    param: str | None = None

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.status}}


def bad(param: str, message: str) -> APIError:
    return APIError(400, f"{param}: {message}", "BadRequestError", param)


@dataclass(frozen=True)
class GenerationRequest:
    kind: Kind
    model: str
    prompt_tokens: int
    max_tokens: int
    max_tokens_given: bool
    stream: bool
    include_usage: bool
    echo_text: str = ""  # completions with echo=true repeat the prompt
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: int = field(default_factory=lambda: int(time.time()))


def count_tokens(text: str) -> int:
    """A whitespace tokenizer: stable, cheap, and near enough to real counts for load shapes."""
    return len(text.split())


def _optional_number(body: dict[str, Any], name: str, low: float, high: float) -> None:
    value = body.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise bad(name, f"must be a number, got {type(value).__name__}")
    if not low <= value <= high:
        raise bad(name, f"{value} is outside {low}..{high}")


def _optional_bool(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise bad(name, f"must be a boolean, got {type(value).__name__}")
    return value


def _positive_int(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad(name, f"must be an integer, got {type(value).__name__}")
    if value < 1:
        raise bad(name, f"{value} must be at least 1")
    return value


def _message_tokens(messages: Any) -> int:
    if not isinstance(messages, list) or not messages:
        raise bad("messages", "must be a non-empty array of messages")
    tokens = 0
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise bad(where, "must be an object with role and content")
        role = message.get("role")
        if role not in ROLES:
            raise bad(f"{where}.role", f"{role!r} is not one of {', '.join(ROLES)}")
        content = message.get("content")
        if content is None and role == "assistant":
            continue  # an assistant turn that only called tools
        if isinstance(content, str):
            tokens += count_tokens(content)
        elif isinstance(content, list):
            for j, part in enumerate(content):
                if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                    raise bad(f"{where}.content[{j}]", "only text parts ({type: text, text: ...}) are supported")
                tokens += count_tokens(part["text"])
        else:
            raise bad(f"{where}.content", "must be a string or an array of text parts")
        tokens += 4  # role markers, as chat templates add
    return tokens


def _prompt_tokens(prompt: Any) -> tuple[int, str]:
    if isinstance(prompt, str):
        return count_tokens(prompt), prompt
    if isinstance(prompt, list) and len(prompt) == 1:
        item = prompt[0]
        if isinstance(item, str):
            return count_tokens(item), item
        if isinstance(item, list) and item and all(isinstance(t, int) and not isinstance(t, bool) for t in item):
            return len(item), ""
    if isinstance(prompt, list) and prompt and all(isinstance(t, int) and not isinstance(t, bool) for t in prompt):
        return len(prompt), ""
    if isinstance(prompt, list) and len(prompt) > 1:
        raise bad("prompt", "batched prompts are not supported: send one prompt per request")
    raise bad("prompt", "must be a string, or an array of token ids")


def parse_request(
    kind: Kind, body: Any, model_names: tuple[str, ...], max_model_len: int, default_max: int
) -> GenerationRequest:
    if not isinstance(body, dict):
        raise APIError(400, "the request body must be a JSON object", "BadRequestError")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad("model", "required, a model name string")
    if model not in model_names:
        raise APIError(404, f"The model `{model}` does not exist.", "NotFoundError", "model")
    if kind == "chat":
        prompt_tokens, echo_text = _message_tokens(body.get("messages")), ""
    else:
        if "prompt" not in body:
            raise bad("prompt", "required")
        prompt_tokens, echo_text = _prompt_tokens(body["prompt"])
        if not _optional_bool(body, "echo"):
            echo_text = ""
    stream = _optional_bool(body, "stream")
    options = body.get("stream_options")
    include_usage = False
    if options is not None:
        if not isinstance(options, dict):
            raise bad("stream_options", "must be an object")
        if not stream:
            raise bad("stream_options", "only allowed when stream is true")
        include_usage = _optional_bool(options, "include_usage")
    n = body.get("n", 1)
    if n is not None and (isinstance(n, bool) or n != 1):
        raise bad("n", "only n=1 is supported")
    _optional_number(body, "temperature", 0, 2)
    _optional_number(body, "top_p", 0, 1)
    _optional_number(body, "presence_penalty", -2, 2)
    _optional_number(body, "frequency_penalty", -2, 2)
    stop = body.get("stop")
    if (
        stop is not None
        and not isinstance(stop, str)
        and not (isinstance(stop, list) and all(isinstance(s, str) for s in stop))
    ):
        raise bad("stop", "must be a string or an array of strings")
    limit_name = "max_completion_tokens" if kind == "chat" and body.get("max_completion_tokens") is not None else ""
    limit = _positive_int(body, limit_name or "max_tokens")
    name = limit_name or "max_tokens"
    max_tokens = limit if limit is not None else min(default_max, max(1, max_model_len - prompt_tokens))
    if prompt_tokens + max_tokens > max_model_len:
        raise APIError(
            400,
            f"This model's maximum context length is {max_model_len} tokens. However, you requested "
            f"{prompt_tokens + max_tokens} tokens ({prompt_tokens} in the messages, {max_tokens} in the completion).",
            "BadRequestError",
            name,
        )
    return GenerationRequest(
        kind=kind,
        model=model,
        prompt_tokens=prompt_tokens,
        max_tokens=max_tokens,
        max_tokens_given=limit is not None,
        stream=stream,
        include_usage=include_usage,
        echo_text=echo_text,
    )


def token_text(index: int) -> str:
    word = VOCABULARY[index % len(VOCABULARY)]
    return word if index == 0 else " " + word


def finish_reason(req: GenerationRequest) -> str:
    return "length" if req.max_tokens_given else "stop"


def usage(req: GenerationRequest, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": req.prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": req.prompt_tokens + completion_tokens,
    }


def _envelope(req: GenerationRequest, chunk: bool) -> dict[str, Any]:
    if req.kind == "chat":
        return {
            "id": f"chatcmpl-{req.request_id}",
            "object": "chat.completion.chunk" if chunk else "chat.completion",
            "created": req.created,
            "model": req.model,
        }
    return {"id": f"cmpl-{req.request_id}", "object": "text_completion", "created": req.created, "model": req.model}


def chunk(req: GenerationRequest, text: str | None, reason: str | None, first: bool = False) -> dict[str, Any]:
    """One SSE chunk: text None with a reason is the closing chunk."""
    if req.kind == "chat":
        delta: dict[str, Any] = {"role": "assistant", "content": ""} if first else {}
        if text is not None:
            delta["content"] = text
        choice: dict[str, Any] = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}
    else:
        choice = {"index": 0, "text": text or "", "logprobs": None, "finish_reason": reason, "stop_reason": None}
    return {**_envelope(req, True), "choices": [choice]}


def usage_chunk(req: GenerationRequest, completion_tokens: int) -> dict[str, Any]:
    return {**_envelope(req, True), "choices": [], "usage": usage(req, completion_tokens)}


def completion(req: GenerationRequest, text: str, completion_tokens: int) -> dict[str, Any]:
    reason = finish_reason(req)
    if req.kind == "chat":
        message = {"role": "assistant", "content": text, "tool_calls": []}
        choice: dict[str, Any] = {"index": 0, "message": message, "logprobs": None, "finish_reason": reason}
    else:
        choice = {"index": 0, "text": req.echo_text + text, "logprobs": None, "finish_reason": reason}
    return {**_envelope(req, False), "choices": [choice], "usage": usage(req, completion_tokens)}
