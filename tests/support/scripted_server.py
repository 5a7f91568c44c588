"""A tiny HTTP/1.1 server on 127.0.0.1 that does, request by request, what a script says: answer a
stream, answer an error status, cut a stream, or close the connection without answering. Connections
are kept alive, so a script can close one a client reuses, as a draining server does."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

# An OpenAI chat stream as a server may send it: a keep-alive comment, CRLF line ends, a role chunk first.
TOKENS = 3
STREAM = (
    b": keep-alive\r\n\r\n"
    b'data: {"choices":[{"delta":{"role":"assistant"}}]}\r\n\r\n'
    + b"".join(b'data: {"choices":[{"delta":{"content":"t%d"}}]}\r\n\r\n' % i for i in range(TOKENS))
    + b"data: [DONE]\r\n\r\n"
)
TIMEOUT = 10  # seconds a connection may stay silent: every server thread ends


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = STREAM
    unanswered: bool = False  # read the request, then close the connection without a byte
    cut: bool = False  # send the headers and the body, then close before the stream's end


@dataclass
class ScriptedServer:
    """Replies in order to the requests it receives (on any connection); past the script, STREAM."""

    script: list[Reply]
    received: int = 0
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def next_reply(self) -> Reply:
        with self.lock:
            self.received += 1
            return self.script.pop(0) if self.script else Reply()


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        self.connection.settimeout(TIMEOUT)
        while self._read_request():
            reply = self.server.scripted.next_reply()
            if reply.unanswered:
                return  # the connection closes without a response byte
            self._answer(reply)
            if reply.cut:
                return

    def _read_request(self) -> bool:
        try:
            if not self.rfile.readline():
                return False
            length = 0
            while (line := self.rfile.readline().strip()) != b"":
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            self.rfile.read(length)
        except (TimeoutError, ConnectionError):
            return False
        return True

    def _answer(self, reply: Reply) -> None:
        kind = b"text/event-stream" if reply.status == 200 else b"application/json"
        head = b"HTTP/1.1 %d X\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n\r\n" % (reply.status, kind)
        body = b"%x\r\n%s\r\n" % (len(reply.body), reply.body) if reply.body else b""
        self.wfile.write(head + body + (b"" if reply.cut else b"0\r\n\r\n"))


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    scripted: ScriptedServer


@contextmanager
def scripted_server(*script: Reply) -> Iterator[ScriptedServer]:
    scripted = ScriptedServer(list(script))
    server = _Server(("127.0.0.1", 0), _Handler)
    server.scripted = scripted
    scripted.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield scripted
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
