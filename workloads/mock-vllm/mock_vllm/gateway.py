"""A request-holding gateway: what lets an inference service scale from zero.

With zero engines nothing exports `vllm:num_requests_waiting` and the Service has no endpoint, so the
first request is refused and no autoscaler ever hears of it. This gateway (the role KEDA's HTTP
add-on interceptor or an inference gateway plays) sits in front of the engines' Service: it forwards
each request, and while the upstream refuses (no engine yet, or one not serving) it holds the request,
retrying, and counts it in `llmc:gateway_requests_held`, which an autoscaler can scale on. A request
held longer than --hold-timeout is answered 503 with the reason.

    python -m mock_vllm.gateway --upstream http://infer-api:8000 --port 8000 --hold-timeout 120
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Sequence

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from mock_vllm.metrics import CONTENT_TYPE

log = logging.getLogger("mock_vllm.gateway")
RETRY_SECONDS = 0.5
# Answers that mean "no engine can take it yet": retried while held, never passed on early.
NOT_YET = {502, 503, 504}
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class Gateway:
    def __init__(self, upstream: str, hold_timeout: float) -> None:
        self.upstream = upstream.rstrip("/")
        self.hold_timeout = hold_timeout
        self.registry = CollectorRegistry(auto_describe=True)
        self.held = Gauge("llmc:gateway_requests_held", "Requests held while no engine serves.", registry=self.registry)
        self.requests = Counter(
            "llmc:gateway_requests", "Requests received, by outcome.", ["outcome"], registry=self.registry
        )
        self.holding = 0
        self.session: aiohttp.ClientSession | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/metrics", self.metrics)
        app.router.add_get("/health", self.health)
        app.router.add_route("*", "/v1/{tail:.*}", self.forward)
        app.on_startup.append(self._open)
        app.on_cleanup.append(self._close)
        return app

    async def _open(self, _: web.Application) -> None:
        # No total timeout: streams last as long as the engine generates; connecting is bounded.
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=2))

    async def _close(self, _: web.Application) -> None:
        if self.session is not None:
            await self.session.close()

    async def metrics(self, _: web.Request) -> web.Response:
        return web.Response(body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE})

    async def health(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "held": self.holding})

    async def forward(self, request: web.Request) -> web.StreamResponse:
        assert self.session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        url = f"{self.upstream}{request.rel_url}"
        deadline = time.monotonic() + self.hold_timeout
        holding = False
        last = ""
        try:
            while True:
                try:
                    upstream = await self.session.request(request.method, url, data=body, headers=headers)
                except (aiohttp.ClientError, OSError, TimeoutError) as e:
                    last = f"{type(e).__name__}: {e}"
                else:
                    if upstream.status not in NOT_YET:
                        self.requests.labels("forwarded" if not holding else "held then forwarded").inc()
                        return await self._relay(request, upstream)
                    last = f"HTTP {upstream.status}: {(await upstream.text())[:200]}"
                    upstream.release()
                if not holding:
                    holding = True
                    self.holding += 1
                    self.held.set(self.holding)
                    log.info("holding %s %s: %s", request.method, request.rel_url, last)
                if time.monotonic() >= deadline:
                    self.requests.labels("held too long").inc()
                    reason = f"no engine served within {self.hold_timeout:g} s (last: {last})"
                    return web.json_response({"error": {"message": reason, "code": 503}}, status=503)
                await asyncio.sleep(RETRY_SECONDS)
        finally:
            if holding:
                self.holding -= 1
                self.held.set(self.holding)

    async def _relay(self, request: web.Request, upstream: aiohttp.ClientResponse) -> web.StreamResponse:
        """Pass the engine's answer on chunk by chunk: a stream's tokens reach the client as they come."""
        async with upstream:
            response = web.StreamResponse(
                status=upstream.status,
                headers={k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP},
            )
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="mock_vllm.gateway", description=__doc__.split("\n\n")[0])
    p.add_argument("--upstream", required=True, help="the engines' base URL, e.g. http://infer-api:8000")
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--hold-timeout", type=float, default=120.0, help="seconds a request may wait for an engine")
    ns = p.parse_args(argv)
    errors = []
    if not ns.upstream.startswith(("http://", "https://")):
        errors.append(f"--upstream: {ns.upstream!r} is not an http(s) URL")
    if not 1 <= ns.port <= 65535:
        errors.append(f"--port: {ns.port} is not a port (1..65535)")
    if ns.hold_timeout <= 0:
        errors.append(f"--hold-timeout: {ns.hold_timeout} must be positive")
    if errors:
        p.exit(2, "invalid gateway configuration:\n  " + "\n  ".join(errors) + "\n")
    return ns


def main(argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    ns = parse(argv)
    gateway = Gateway(ns.upstream, ns.hold_timeout)
    log.info("forwarding to %s, holding requests up to %g s", ns.upstream, ns.hold_timeout)
    web.run_app(gateway.app(), host=ns.host, port=ns.port, print=None, handle_signals=True)


if __name__ == "__main__":
    main(sys.argv[1:])
