"""The engine: a scheduler with --max-num-seqs slots and a bounded waiting queue, and the latency model
that paces each sequence's tokens. It records vLLM's metrics as it goes.

Each token is due one sampled inter-token latency after the previous one's due time (the first after
the TTFT plus prefill), so sleep overshoot does not add up while the event loop keeps pace; once it
falls behind, measured latency grows instead of tokens arriving in bursts. The benchmark measures both.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

from mock_vllm.config import Config
from mock_vllm.metrics import EngineMetrics
from mock_vllm.protocol import GenerationRequest, token_text


class QueueFull(Exception):
    """Every slot busy and the waiting queue at --max-waiting-queue-length."""


class EngineStopped(Exception):
    """The ring broke under a running sequence: like vLLM when a collective fails, the request dies."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Scheduler:
    """FIFO admission: a free slot, else a place in the waiting queue, else QueueFull at once."""

    def __init__(self, max_running: int, max_waiting: int) -> None:
        self.max_running = max_running
        self.max_waiting = max_waiting
        self.running = 0
        self._waiting: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def reserve(self) -> asyncio.Future[None]:
        """A future that is done when the sequence may run; raises QueueFull without waiting."""
        slot: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.running < self.max_running and not self._waiting:
            self.running += 1
            slot.set_result(None)
        elif len(self._waiting) >= self.max_waiting:
            raise QueueFull
        else:
            self._waiting.append(slot)
        return slot

    def give_back(self, slot: asyncio.Future[None]) -> None:
        """The sequence is done, or gave up waiting: free its slot or its place in the queue."""
        if not slot.done():
            slot.cancel()
            self._waiting.remove(slot)
            return
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes to the next waiter: running stays the same
                return
        self.running -= 1


@dataclass
class Token:
    index: int
    text: str


class Engine:
    def __init__(self, config: Config, metrics: EngineMetrics) -> None:
        self.config = config
        self.metrics = metrics
        self.scheduler = Scheduler(config.max_num_seqs, config.max_waiting_queue_length)
        self.rng = random.Random(config.seed)
        self.slowdown = 1.0  # from the group's placement, set by the ring
        self.stopped: str | None = None  # why the engine cannot run sequences any more
        self.in_flight = 0  # admitted or waiting: what a drain waits for
        self._kv_tokens = 0
        self.series = metrics.series()

    def _sample_ms(self, mean: float, std_dev: float) -> float:
        if std_dev <= 0:
            return mean / 1000
        return max(0.0, self.rng.gauss(mean, std_dev)) / 1000

    def _load_factor(self) -> float:
        extra = self.config.latency.time_factor_under_load - 1
        if extra <= 0 or self.config.max_num_seqs == 1:
            return 1.0
        return 1 + extra * (self.scheduler.running - 1) / (self.config.max_num_seqs - 1)

    def refresh_gauges(self) -> None:
        """Set the gauges from the live state (on every change, and before each scrape)."""
        self.series.running.set(self.scheduler.running)
        self.series.waiting.set(self.scheduler.waiting)
        self.series.kv_cache.set(min(1.0, self._kv_tokens / self.config.kv_cache_tokens))

    def submit(self, req: GenerationRequest) -> Sequence:
        """Admit the request now (raises QueueFull at once). Use the result as an async context manager
        and iterate its tokens(); leaving the context frees the slot however the request ended."""
        slot = self.scheduler.reserve()
        self.in_flight += 1
        self.refresh_gauges()
        return Sequence(self, req, slot)

    def _finish(self, seq: Sequence) -> None:
        self.in_flight -= 1
        self._kv_tokens -= seq.kv_held
        self.scheduler.give_back(seq.slot)
        self.refresh_gauges()

    def stop(self, reason: str) -> None:
        """Running sequences fail at their next token; new ones are refused by the API."""
        self.stopped = reason


class Sequence:
    """One admitted request: waits for its slot, then yields tokens paced by the latency model."""

    def __init__(self, engine: Engine, req: GenerationRequest, slot: asyncio.Future[None]) -> None:
        self.engine = engine
        self.req = req
        self.slot = slot
        self.arrival = time.monotonic()
        self.kv_held = 0
        self._finished = False
        self._completed = False  # every token generated (else vLLM counts it finished_reason="abort")

    async def __aenter__(self) -> Sequence:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if not self._finished:
            self._finished = True
            if not self._completed:
                self.engine.series.success["abort"].inc()
            self.engine._finish(self)

    async def tokens(self) -> AsyncIterator[Token]:
        """Raises EngineStopped if the ring breaks under the sequence (as a failed collective does)."""
        engine, req = self.engine, self.req
        lat, m = engine.config.latency, engine.series
        await self.slot
        scheduled = time.monotonic()
        m.queue_time.observe(scheduled - self.arrival)
        m.prompt_tokens.inc(req.prompt_tokens)
        self.kv_held = req.prompt_tokens
        engine._kv_tokens += req.prompt_tokens
        engine.refresh_gauges()
        deadline = scheduled + lat.prefill_time_per_token_ms * req.prompt_tokens / 1000
        deadline += engine._sample_ms(lat.time_to_first_token_ms, lat.time_to_first_token_std_dev_ms)
        last = self.arrival
        for index in range(req.max_tokens):
            if index:
                itl = engine._sample_ms(lat.inter_token_latency_ms, lat.inter_token_latency_std_dev_ms)
                deadline += itl * engine._load_factor() * engine.slowdown
            delay = deadline - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if engine.stopped:
                raise EngineStopped(engine.stopped)
            now = time.monotonic()
            (m.itl if index else m.ttft).observe(now - last)
            # A late token pushes the rest back, as a slow batch step does: no catch-up bursts.
            last, deadline = now, max(deadline, now)
            self.kv_held += 1
            engine._kv_tokens += 1
            m.generation_tokens.inc()
            yield Token(index, token_text(index))
        m.e2e.observe(time.monotonic() - self.arrival)
        m.success["length" if req.max_tokens_given else "stop"].inc()
        self._completed = True
