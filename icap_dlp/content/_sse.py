"""Incremental Server-Sent Events parsing (sans-IO), one event at a time.

``SseStream.feed(chunk)`` returns the events completed by that chunk (an event ends with a blank
line; ``\\n``, ``\\r\\n`` and ``\\r`` line endings are all accepted), so each event can be inspected
and sent on while the stream goes on. An event that outgrows ``max_event_bytes`` is returned
flagged ``oversize`` and the rest of it is passed through by the same rule until its end.
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from icap_dlp.content._codec import BodyKind, ContentLimits, decode_text, encode_text
from icap_dlp.content._parse import ParsedBody, parse

_BOUNDARY = re.compile(rb"\r\n\r\n|\n\n|\r\r|\r\n\n|\n\r\n")
_LINE = re.compile(r"\r\n|\n|\r")


@dataclass
class SseEvent:
    raw: bytes
    oversize: bool = False

    def parsed(self, limits: ContentLimits | None = None) -> ParsedBody:
        """The event's data as a message; ``render`` gives back a whole SSE event."""
        text = decode_text(self.raw, "utf-8")
        lines = _LINE.split(text)
        eol = "\r\n" if "\r\n" in text else ("\r" if "\r" in text and "\n" not in text else "\n")
        data_lines = [i for i, ln in enumerate(lines) if ln.startswith("data:") or ln == "data"]
        data = "\n".join(lines[i][5:].removeprefix(" ") if lines[i] != "data" else "" for i in data_lines)
        if not data_lines:
            return ParsedBody([], None, [], lambda changed: self.raw, self.raw)
        inner = parse(data.encode("utf-8", "surrogateescape"), BodyKind.JSON, "utf-8", limits)
        return self._wrap(inner, lines, data_lines, eol)

    def _wrap(self, inner: ParsedBody, lines: list[str], data_lines: list[int], eol: str) -> ParsedBody:
        """The event around its parsed data: ``render`` gives back a whole SSE event."""

        def rebuild(changed: AbstractSet[int]) -> bytes:
            new_data = decode_text(inner._rebuild(changed), "utf-8")
            out: list[str] = []
            placed = False
            for i, ln in enumerate(lines):
                if i in data_lines:
                    if not placed:
                        out.extend("data: " + part for part in new_data.split("\n"))
                        placed = True
                    continue
                out.append(ln)
            return encode_text(eol.join(out), "utf-8")

        expand = None if inner._expand is None else (
            lambda: self._wrap(inner.expanded(), lines, data_lines, eol))
        return ParsedBody(inner.segments, inner.mcp, inner._slots, rebuild, self.raw, inner.gaps, inner.fixed,
                          inner._nested, inner.structure, expand, leaves=inner.leaves, exact=inner.exact)


class SseStream:
    def __init__(self, max_event_bytes: int = 1024 * 1024) -> None:
        self.max_event_bytes = max_event_bytes
        self._buf = bytearray()
        self._discarding = False

    def feed(self, data: bytes) -> list[SseEvent]:
        self._buf += data
        out: list[SseEvent] = []
        while True:
            m = _BOUNDARY.search(self._buf)
            if m is None:
                break
            raw = bytes(self._buf[: m.end()])
            del self._buf[: m.end()]
            if self._discarding:
                out.append(SseEvent(raw, oversize=True))
                self._discarding = False
            else:
                out.append(SseEvent(raw))
        if len(self._buf) > self.max_event_bytes:
            out.append(SseEvent(bytes(self._buf), oversize=True))
            self._buf.clear()
            self._discarding = True
        return out

    @property
    def buffered(self) -> int:
        """Bytes of the event not yet complete."""
        return len(self._buf)

    def close(self) -> list[SseEvent]:
        if not self._buf:
            return []
        raw = bytes(self._buf)
        self._buf.clear()
        return [SseEvent(raw, oversize=self._discarding)]
