"""Server-sent events as the WHATWG spec parses them, fed chunk by chunk as they arrive.

Pure (no I/O, no Locust): the Locust user feeds it each network chunk and gets back the `data` of every
event the chunk completed, so each token is timed when its event arrives. Lines end with CRLF, LF or
CR; a line starting with ":" is a comment (servers and proxies send `: keep-alive`); `data` lines of
one event are joined with "\\n"; the other fields (event, id, retry) are not needed here and skipped;
an event is dispatched at the blank line that ends it, and one without data is no event.
"""

from __future__ import annotations

import codecs


class EventStream:
    def __init__(self) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._line = ""  # the current line, before its end arrives
        self._data: list[str] = []  # data lines of the event being read
        self._after_cr = False  # the last chunk ended in CR: a LF starting the next one is the same line end

    def feed(self, chunk: bytes) -> list[str]:
        """The data of each event that `chunk` completes, in order."""
        text = self._text.decode(chunk)
        if not text:  # an empty chunk, or part of a character: no line end to learn of
            return []
        if self._after_cr and text.startswith("\n"):
            text = text[1:]
        self._after_cr = text.endswith("\r")
        events = []
        start = 0
        for end, char in enumerate(text):
            if char == "\n" and end > 0 and text[end - 1] == "\r":
                start = end + 1  # the LF of a CRLF: the CR ended the line
                continue
            if char in "\r\n":
                data = self._end_line(self._line + text[start:end])
                self._line = ""
                start = end + 1
                if data is not None:
                    events.append(data)
        self._line += text[start:]
        return events

    def _end_line(self, line: str) -> str | None:
        """Take one whole line; return the event's data when the line is the blank one ending it."""
        if not line:
            if not self._data:
                return None
            data = "\n".join(self._data)
            self._data = []
            return data
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if name == "data":
            self._data.append(value.removeprefix(" "))
        return None
