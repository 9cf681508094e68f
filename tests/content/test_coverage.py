"""The coverage invariant, by property: every value of a generated body reaches detection.

Bodies are generated through every layer (gzip members, NDJSON lines or SSE events, JSON nesting,
object keys, numbers, JSON inside strings, base64 blobs and media data, Unicode disguises); each
holds unique markers. Every marker must be inside a segment the engine scans, or the body must
report a gap: nothing passes silently.
"""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from icap_dlp.content import BodyKind, ContentLimits, ParsedBody, SseStream, decode_body, normalize, parse
from icap_dlp.model import Uninspected

LIMITS = ContentLimits(max_depth=24)


class Markers:
    def __init__(self) -> None:
        self.n = 0
        self.all: list[str] = []

    def new(self) -> str:
        self.n += 1
        m = f"zq{self.n:04d}mark"
        self.all.append(m)
        return m


def _leaf(draw: st.DrawFn, mk: Markers, depth: int) -> Any:
    choice = draw(st.integers(0, 9 if depth < 4 else 3))
    if choice == 0:
        return mk.new()
    if choice == 1:  # a number: the marker is its digits
        n = draw(st.integers(10**8, 10**9 - 1))
        mk.all.append(str(n))
        return n
    if choice == 2:  # Unicode disguise: zero-width spaces inside the marker
        m = mk.new()
        return "\u200b".join(m[i:i + 3] for i in range(0, len(m), 3))
    if choice == 3:
        return draw(st.sampled_from([True, False, None, "", 0]))
    if choice == 4:  # JSON inside a string
        return json.dumps(_doc(draw, mk, depth + 1))
    if choice == 5:  # a text resource blob, labelled text or generic, maybe line-wrapped
        text = f"file {mk.new()} end"
        raw = base64.b64encode(text.encode()).decode()
        if draw(st.booleans()):
            raw = "\n".join(raw[i:i + 8] for i in range(0, len(raw), 8))
        return {"uri": "file:///x", "mimeType": draw(st.sampled_from(["text/plain", "application/octet-stream"])),
                "blob": raw}
    if choice == 6:  # image data that is really text
        return {"type": "image", "mimeType": "image/png", "data": base64.b64encode(mk.new().encode()).decode()}
    if choice == 7:  # a marker as an object key
        return {mk.new(): draw(st.integers(0, 9))}
    return _doc(draw, mk, depth + 1)


def _doc(draw: st.DrawFn, mk: Markers, depth: int) -> Any:
    if depth > 6 or draw(st.booleans()):
        return [_leaf(draw, mk, depth + 1) for _ in range(draw(st.integers(0, 3)))]
    return {f"k{i}": _leaf(draw, mk, depth + 1) for i in range(draw(st.integers(0, 4)))}


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, str, str | None, list[str]]:
    mk = Markers()
    msgs = [{"jsonrpc": "2.0", "id": i, "result": {"structuredContent": _doc(draw, mk, 0)}}
            for i in range(draw(st.integers(1, 3)))]
    shape = draw(st.sampled_from(["json", "ndjson", "sse"]))
    if shape == "json":
        body, ctype = json.dumps(msgs[0] if len(msgs) == 1 else msgs, ensure_ascii=draw(st.booleans())).encode(), \
            "application/json"
    elif shape == "ndjson":
        body, ctype = b"\n".join(json.dumps(m).encode() for m in msgs), "application/x-ndjson"
    else:
        body, ctype = b"".join(b"event: message\ndata: " + json.dumps(m).encode() + b"\n\n" for m in msgs), \
            "text/event-stream"
    encoding = None
    if draw(st.booleans()):  # several gzip members
        cut = draw(st.integers(0, len(body)))
        body, encoding = gzip.compress(body[:cut]) + gzip.compress(body[cut:]), "gzip"
    return body, ctype, encoding, mk.all


def _inspected(body: bytes, ctype: str, encoding: str | None) -> tuple[list[str], list[Uninspected]]:
    """What the engine would scan (normalized, as it scans it) and the gaps."""
    gaps: list[Uninspected] = []
    data = decode_body(body, encoding, LIMITS, gaps)
    parsed: list[ParsedBody] = []
    if ctype == "text/event-stream":
        s = SseStream()
        parsed = [ev.parsed(LIMITS) for ev in s.feed(data) + s.close()]
    else:
        parsed = [parse(data, BodyKind.NDJSON if "ndjson" in ctype else BodyKind.JSON, "utf-8", LIMITS)]
    texts = []
    for p in parsed:
        for q in (p, p.expanded()):  # the quick walk and the detailed one both cover everything
            gaps += q.gaps
            texts.append("\n".join(normalize(s.text).text for s in q.segments))
    return texts, gaps


@settings(max_examples=150, deadline=None)
@given(bodies())
def test_property_every_value_reaches_detection_or_a_gap_is_reported(case: tuple[bytes, str, str | None, list[str]]
                                                                     ) -> None:
    body, ctype, encoding, markers = case
    texts, gaps = _inspected(body, ctype, encoding)
    if gaps:
        return  # reported: the failure policy answers it
    quick, detailed = texts[0::2], texts[1::2]
    for m in markers:
        assert any(m in t for t in quick), (m, "quick walk")
        assert any(m in t for t in detailed), (m, "detailed walk")
