"""The group ring: how an LWS multi-host group behaves like vLLM's NCCL/Ray group.

- The leader (LWS_WORKER_INDEX 0) serves; each worker holds one websocket to the leader's
  /ring/join, opened with a hello (index, group size, placement); both sides then send a beat every
  --ring-heartbeat seconds, and a peer silent for --ring-timeout seconds is lost.
- The ring forms when all LWS_GROUP_SIZE - 1 workers have joined: only then is the leader ready.
- A member lost (connection closed or heartbeat missed) breaks the ring for good: the leader stops
  serving and says why in /health and llmc:ring_broken; the workers see their leader gone.
- A join after the ring formed or broke is refused: a restarted member cannot rejoin the old ring.
  Only a whole new group (a new leader process) forms a new ring.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from mock_vllm.config import Group
from mock_vllm.topology import GroupPlacement, Placement, PlacementError

log = logging.getLogger("mock_vllm.ring")
JOIN_PATH = "/ring/join"
BEAT = "beat"


@dataclass
class RingState:
    """What /health and /ring report: one of forming, formed, broken (and for workers, joining)."""

    phase: str = "forming"
    reason: str = ""
    ring_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    members: dict[int, Placement] = field(default_factory=dict)
    formed_at: float | None = None
    broken_at: float | None = None

    def to_json(self, size: int) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "reason": self.reason,
            "ring_id": self.ring_id,
            "group_size": size,
            "joined": sorted(self.members),
            "placement": GroupPlacement(self.members).to_json(),
        }


class RingLeader:
    """The leader's side: admits the group's workers once, and breaks when any of them goes."""

    def __init__(self, group: Group, placement: Placement, on_change: Callable[[RingLeader], None]) -> None:
        self.group = group
        self.state = RingState(members={0: placement})
        self._on_change = on_change
        self._sockets: dict[int, web.WebSocketResponse] = {}
        self._closing: set[asyncio.Future[bool]] = set()
        if group.size == 1:
            self._form()

    @property
    def serving(self) -> bool:
        return self.state.phase == "formed"

    def placement(self) -> GroupPlacement:
        return GroupPlacement(dict(self.state.members))

    def _form(self) -> None:
        self.state.phase, self.state.formed_at = "formed", time.time()
        log.info("ring %s formed: %d members", self.state.ring_id, self.group.size)
        self._on_change(self)

    def _break(self, reason: str) -> None:
        if self.state.phase == "broken":
            return
        self.state.phase, self.state.reason, self.state.broken_at = "broken", reason, time.time()
        log.error("ring %s broken: %s", self.state.ring_id, reason)
        self._on_change(self)
        for ws in list(self._sockets.values()):  # the survivors learn it too, as NCCL peers do
            task = asyncio.ensure_future(ws.close(message=f"ring broken: {reason}".encode()[:120]))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    def _refusal(self, hello: Any) -> tuple[int, str]:
        """(worker index, reason to refuse or '')."""
        if not isinstance(hello, dict):
            return -1, "hello must be an object"
        index, size = hello.get("worker_index"), hello.get("group_size")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 < index < self.group.size:
            return -1, f"worker_index {index!r} is not a worker of this group (size {self.group.size})"
        if size != self.group.size:
            return index, f"group_size {size!r} differs from the leader's {self.group.size}"
        if self.state.phase == "broken":
            return index, f"ring {self.state.ring_id} is broken ({self.state.reason}); restart the whole group"
        if self.state.phase == "formed" or index in self.state.members:
            return index, f"ring {self.state.ring_id} already has worker {index}; a restarted member cannot rejoin"
        return index, ""

    async def join(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        try:
            hello = await ws.receive_json(timeout=10)
        except (TimeoutError, TypeError, ValueError):
            await ws.send_json({"accepted": False, "reason": "expected a JSON hello within 10 s"})
            await ws.close()
            return ws
        index, reason = self._refusal(hello)
        if not reason:
            try:
                placement = Placement.from_json(hello.get("placement", {}))
            except PlacementError as e:
                reason = str(e)
        if reason:
            log.warning("refused a join from %s: %s", request.remote, reason)
            await ws.send_json({"accepted": False, "reason": reason, "ring_id": self.state.ring_id})
            await ws.close()
            return ws
        self.state.members[index] = placement
        self._sockets[index] = ws
        await ws.send_json({"accepted": True, "ring_id": self.state.ring_id})
        log.info("worker %d joined from %s (%d/%d)", index, request.remote, len(self.state.members), self.group.size)
        if len(self.state.members) == self.group.size:
            self._form()
        else:
            self._on_change(self)
        why = await hold(ws, self.group)
        self._sockets.pop(index, None)
        self._break(f"worker {index} lost ({why})")
        return ws

    async def close(self) -> None:
        for ws in list(self._sockets.values()):
            await ws.close(message=b"leader shutting down")


async def hold(ws: web.WebSocketResponse | aiohttp.ClientWebSocketResponse, group: Group) -> str:
    """Beat every heartbeat_seconds and listen for the peer's beats; return why the peer was lost.

    Our own beats rather than websocket pings: aiohttp wants a pong within half a ping interval,
    and a CPU-starved pod on a small testbed misses that without being dead."""

    async def beat() -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):  # the socket closed: hold() reports it
            while not ws.closed:
                await ws.send_str(BEAT)
                await asyncio.sleep(group.heartbeat_seconds)

    beating = asyncio.ensure_future(beat())
    try:
        while True:
            try:
                msg = await ws.receive(timeout=group.timeout_seconds)
            except TimeoutError:
                return f"heartbeat missed: silent for {group.timeout_seconds:g} s"
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
                return f"connection closed{f': {msg.extra}' if msg.extra else ''}"
            if msg.type is aiohttp.WSMsgType.ERROR:
                return f"connection error: {msg.data}"
    finally:
        beating.cancel()


class RingWorker:
    """A worker's side: join the leader (retrying until it answers), then hold the connection."""

    def __init__(self, group: Group, placement: Placement) -> None:
        self.group = group
        self.placement = placement
        self.state = RingState(phase="joining", ring_id="")
        self._task: asyncio.Task[None] | None = None

    @property
    def joined(self) -> bool:
        return self.state.phase == "formed"

    def url(self) -> str:
        address = self.group.leader_address
        if ":" not in address.rsplit("]", 1)[-1]:
            address = f"{address}:{self.group.ring_port}"
        return f"http://{address}{JOIN_PATH}"

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _broken(self, reason: str) -> None:
        self.state.phase, self.state.reason, self.state.broken_at = "broken", reason, time.time()
        log.error("worker %d: %s", self.group.worker_index, reason)

    async def _run(self) -> None:
        hello = {
            "worker_index": self.group.worker_index,
            "group_size": self.group.size,
            "placement": self.placement.to_json(),
        }
        # Bounded connect, unbounded life: the connection is the membership.
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=5)) as session:
            while True:
                try:
                    ws = await session.ws_connect(self.url())
                except (TimeoutError, aiohttp.ClientError, OSError) as e:
                    self.state.reason = f"leader {self.url()} not answering yet: {type(e).__name__}"
                    await asyncio.sleep(1)  # the leader may start after us: LWS starts them together
                    continue
                async with ws:
                    await ws.send_json(hello)
                    try:
                        answer = await ws.receive_json(timeout=10)
                    except (TimeoutError, TypeError, ValueError):
                        answer = {"reason": f"no answer to the hello (close code {ws.close_code})"}
                    if not answer.get("accepted"):
                        self._broken(f"refused by the leader: {answer.get('reason')}")
                        return
                    self.state.phase, self.state.reason = "formed", ""
                    self.state.ring_id, self.state.formed_at = answer.get("ring_id", ""), time.time()
                    log.info("worker %d joined ring %s", self.group.worker_index, self.state.ring_id)
                    self._broken(f"leader lost: {await hold(ws, self.group)}")
                    return
