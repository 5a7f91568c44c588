"""The process: start serving, and shut down like vLLM with --shutdown-timeout.

SIGTERM: stop accepting (503 on new requests, /health 503 so the readiness probe takes the pod out of
its Services), finish every in-flight request up to --shutdown-timeout, then exit 0. A second SIGTERM
(or SIGINT) exits at once, with status 1, cutting whatever is still streaming.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence

from aiohttp import web

from mock_vllm.config import ConfigError, parse
from mock_vllm.server import Server

log = logging.getLogger("mock_vllm")


async def serve(server: Server) -> int:
    config = server.config
    runner = web.AppRunner(server.app(), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port, reuse_address=True)
    await site.start()
    role = "leader" if config.group.is_leader else f"worker {config.group.worker_index}"
    log.info("mock-vllm %s serving %s on %s:%d (group size %d)", role, config.model_names[0], config.host,
             config.port, config.group.size)  # fmt: skip
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        if stop.is_set():
            log.warning("second %s: exiting now, %d requests cut", signal.Signals(signum).name, server.engine.in_flight)
            os._exit(1)
        log.info("%s: draining %d in-flight requests (up to %.0f s)", signal.Signals(signum).name,
                 server.engine.in_flight, config.shutdown_timeout)  # fmt: skip
        server.draining = True
        server.metrics.draining.set(1)
        # As vLLM's server (uvicorn) does: keep-alive connections close once their current response is
        # done, so clients reconnect through the Service to a pod that is not draining.
        if runner.server is not None:
            runner.server.pre_shutdown()
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
    await stop.wait()
    started = time.monotonic()
    while server.engine.in_flight and time.monotonic() - started < config.shutdown_timeout:
        await asyncio.sleep(0.05)
    left = server.engine.in_flight
    if left:
        log.warning("shutdown timeout: %d requests still in flight are cut", left)
        server.engine.stop("shutdown timeout reached")  # their handlers end now, so cleanup does not wait
        await asyncio.sleep(0.1)
    else:
        log.info("drained in %.1f s", time.monotonic() - started)
    if server.leader is not None:
        await server.leader.close()
    await runner.cleanup()
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        config = parse(argv)
    except ConfigError as e:
        print(f"mock-vllm: {e}", file=sys.stderr)
        sys.exit(2)
    sys.exit(asyncio.run(serve(Server(config))))
