"""The HTTP face: vLLM's OpenAI routes, /health, /metrics, and the ring on the leader.

Every error leaves as an OpenAI-shaped JSON body with a 4xx status (or a deliberate 429/503), so
clients raise their usual exceptions; nothing a client sends can produce a 500.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from mock_vllm import __version__
from mock_vllm.config import Config
from mock_vllm.engine import Engine, EngineStopped, QueueFull, Sequence
from mock_vllm.metrics import CONTENT_TYPE, EngineMetrics
from mock_vllm.protocol import APIError, Kind, chunk, completion, parse_request, usage_chunk
from mock_vllm.ring import JOIN_PATH, RingLeader, RingWorker

log = logging.getLogger("mock_vllm.server")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
INJECTED = {
    "rate_limit": APIError(429, "Rate limit reached (injected failure)", "RateLimitError"),
    "invalid_api_key": APIError(401, "Incorrect API key provided (injected failure)", "AuthenticationError"),
    "context_length": APIError(400, "This model's maximum context length is exceeded (injected failure)"),
    "server_error": APIError(503, "The server had an error processing the request (injected failure)", "ServerError"),
    "invalid_request": APIError(400, "Invalid request (injected failure)"),
    "model_not_found": APIError(404, "The model does not exist (injected failure)", "NotFoundError", "model"),
}
FAIL_HEADER = "X-Mock-Fail"  # a failure type: fail this request on purpose


@web.middleware
async def openai_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except APIError as e:
        return web.json_response(e.body(), status=e.status)
    except web.HTTPException as e:  # unknown route, wrong method, body too large
        if e.status < 400:
            raise
        return web.json_response(
            APIError(e.status, e.reason, type(e).__name__.removeprefix("HTTP")).body(), status=e.status
        )


class Server:
    """One process: the leader (serves the API once the ring formed) or a worker (joins and holds)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.metrics = EngineMetrics(config.model_names[0])
        self.engine = Engine(config, self.metrics)
        self.rng = random.Random(config.seed)
        self.draining = False
        self.started = time.time()
        self.leader: RingLeader | None = None
        self.worker: RingWorker | None = None
        if config.group.is_leader:
            self.leader = RingLeader(config.group, config.placement, self._ring_changed)
        else:
            self.worker = RingWorker(config.group, config.placement)

    def _ring_changed(self, leader: RingLeader) -> None:
        m, state = self.metrics, leader.state
        m.ring_members.set(len(state.members))
        m.ring_formed.set(1 if state.phase == "formed" else 0)
        m.ring_broken.set(1 if state.phase == "broken" else 0)
        if state.phase == "formed":
            penalty = self.config.penalty
            self.engine.slowdown = leader.placement().slowdown(penalty.numa_misaligned, penalty.cross_rack)
            m.slowdown.set(self.engine.slowdown)
            log.info("placement %s: inter-token slowdown x%.2f", leader.placement().to_json(), self.engine.slowdown)
        elif state.phase == "broken":
            self.engine.stop(f"ring broken: {state.reason}")

    def app(self) -> web.Application:
        app = web.Application(middlewares=[openai_errors], client_max_size=4 * 2**20)
        app.router.add_get("/health", self.health)
        app.router.add_get("/ring", self.ring)
        app.router.add_get("/metrics", self.metrics_page)
        app.router.add_get("/version", self.version)
        app.router.add_get("/v1/models", self.models)
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_post("/v1/completions", self.completions)
        if self.leader is not None:
            app.router.add_get(JOIN_PATH, self.leader.join)
        if self.worker is not None:
            worker = self.worker

            async def start_worker(_: web.Application) -> None:
                worker.start()

            async def stop_worker(_: web.Application) -> None:
                await worker.stop()

            app.on_startup.append(start_worker)
            app.on_cleanup.append(stop_worker)
        return app

    # -- readiness ------------------------------------------------------------------------------

    def not_ready_reason(self) -> str:
        if self.draining:
            return "draining: shutting down after SIGTERM"
        if self.leader is not None and not self.leader.serving:
            state = self.leader.state
            if state.phase == "broken":
                return f"ring broken: {state.reason}"
            return f"ring forming: {len(state.members)}/{self.config.group.size} members joined"
        if self.worker is not None and not self.worker.joined:
            return f"worker {self.worker.state.phase}: {self.worker.state.reason or 'waiting for the leader'}"
        return ""

    def ring_json(self) -> dict[str, Any]:
        group = self.config.group
        if self.leader is not None:
            body = self.leader.state.to_json(group.size)
            body["itl_slowdown"] = self.engine.slowdown
        else:
            assert self.worker is not None
            body = self.worker.state.to_json(group.size)
            body["placement"] = self.config.placement.to_json()
        return {"role": "leader" if group.is_leader else "worker", "worker_index": group.worker_index, **body}

    async def health(self, request: web.Request) -> web.Response:
        reason = self.not_ready_reason()
        body = {"status": "ok" if not reason else "unavailable", "reason": reason, "ring": self.ring_json()}
        return web.json_response(body, status=503 if reason else 200)

    async def ring(self, request: web.Request) -> web.Response:
        return web.json_response(self.ring_json())

    async def metrics_page(self, request: web.Request) -> web.Response:
        self.engine.refresh_gauges()  # KV usage grows with every token, not only on admission
        return web.Response(body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    async def version(self, request: web.Request) -> web.Response:
        return web.json_response({"version": f"mock-vllm {__version__}"})

    async def models(self, request: web.Request) -> web.Response:
        created = int(self.started)
        data = [
            {"id": name, "object": "model", "created": created, "owned_by": "vllm", "root": self.config.model,
             "parent": None, "max_model_len": self.config.max_model_len}
            for name in self.config.model_names
        ]  # fmt: skip
        return web.json_response({"object": "list", "data": data})

    # -- generation -----------------------------------------------------------------------------

    async def chat(self, request: web.Request) -> web.StreamResponse:
        return await self._generate(request, "chat")

    async def completions(self, request: web.Request) -> web.StreamResponse:
        return await self._generate(request, "completion")

    def _refuse(self, reason: str, error: APIError) -> APIError:
        self.metrics.rejected.labels(reason=reason).inc()
        return error

    async def _body(self, request: web.Request) -> Any:
        raw = await request.read()
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, ValueError) as e:
            raise APIError(400, f"the request body is not valid JSON: {e}") from None

    def _injected(self, request: web.Request) -> APIError | None:
        forced = request.headers.get(FAIL_HEADER)
        if forced is not None:
            if forced not in INJECTED:
                raise APIError(400, f"{FAIL_HEADER}: unknown failure type {forced!r}; known: {', '.join(INJECTED)}")
            return INJECTED[forced]
        if self.config.failure_injection_rate and self.rng.random() * 100 < self.config.failure_injection_rate:
            return INJECTED[self.rng.choice(self.config.failure_types)]
        return None

    async def _generate(self, request: web.Request, kind: Kind) -> web.StreamResponse:
        body = await self._body(request)
        if self.draining:
            raise self._refuse("draining", APIError(503, "the server is shutting down", "ServiceUnavailableError"))
        reason = self.not_ready_reason()
        if self.worker is not None:
            reason = "a worker does not serve the API: its group's leader does"
        if reason:
            raise self._refuse("ring_not_ready", APIError(503, reason, "ServiceUnavailableError"))
        c = self.config
        req = parse_request(kind, body, c.model_names, c.max_model_len, c.default_max_tokens)
        injected = self._injected(request)
        if injected is not None:
            raise self._refuse("injected", injected)
        try:
            seq = self.engine.submit(req)
        except QueueFull:
            error = APIError(
                429, f"the waiting queue is full ({c.max_waiting_queue_length} requests)", "RateLimitError"
            )
            raise self._refuse("queue_full", error) from None
        async with seq:
            if not req.stream:
                texts = []
                try:
                    async for token in seq.tokens():
                        texts.append(token.text)
                except EngineStopped as e:
                    raise APIError(503, e.reason, "ServiceUnavailableError") from None
                return web.json_response(completion(req, "".join(texts), len(texts)))
            return await self._stream(request, seq)

    async def _stream(self, request: web.Request, seq: Sequence) -> web.StreamResponse:
        req = seq.req
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)

        async def send(data: dict[str, Any] | str) -> None:
            text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
            await response.write(f"data: {text}\n\n".encode())

        count = 0
        try:
            if req.kind == "completion" and req.echo_text:
                await send(chunk(req, req.echo_text, None))
            async for token in seq.tokens():
                if count == 0 and req.kind == "chat":
                    await send(chunk(req, None, None, first=True))
                last = token.index == req.max_tokens - 1
                reason = ("length" if req.max_tokens_given else "stop") if last else None
                await send(chunk(req, token.text, reason))
                count += 1
            if req.include_usage:
                await send(usage_chunk(req, count))
        except EngineStopped as e:
            # Headers are gone: tell the client in-band, as vLLM does when the engine dies mid-stream.
            await send({"error": APIError(503, e.reason, "ServiceUnavailableError").body()["error"]})
        except ConnectionError:
            log.info("client went away after %d tokens of %s", count, req.request_id)
            return response
        await send("[DONE]")
        await response.write_eof()
        return response
