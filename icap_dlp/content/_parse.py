"""What a body is: MCP JSON-RPC, JSON, NDJSON, form or text, as text segments with locations.

``parse`` returns a :class:`ParsedBody`: the decoded string values that can carry data (as
:class:`Segment` with a JSON-path location) and ``render(replacements)``, which rebuilds the body
with some segments' text replaced. Only affected strings change; the rest of the structure, key
order, ``id`` and ``jsonrpc`` are kept, and ``render({})`` returns the original bytes.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from icap_dlp.content._codec import BodyKind, ContentLimits, decode_text, encode_json, encode_text
from icap_dlp.model import Segment, Uninspected

_NEVER = frozenset({"jsonrpc", "mimeType", "type"})
_TOP_NEVER = frozenset({"id", "method"})
_MEDIA = frozenset({"image", "audio"})


@dataclass
class McpInfo:
    """JSON-RPC facts about a message (or a batch)."""

    ids: list[Any] = field(default_factory=list)
    method: str | None = None
    tool: str | None = None
    is_batch: bool = False
    kind: str = "response"  # request | notification | response | error


@dataclass
class _Slot:
    """Where a segment's text lives, and how to put a new text back."""

    set: Callable[[str], None]


@dataclass
class ParsedBody:
    segments: list[Segment]
    mcp: McpInfo | None
    _slots: list[_Slot]
    _rebuild: Callable[[], bytes]
    _original: bytes
    gaps: list[Uninspected] = field(default_factory=list)

    def render(self, replacements: Mapping[int, str]) -> bytes:
        if not replacements:
            return self._original
        for i, text in replacements.items():
            self._slots[i].set(text)
        return self._rebuild()


def _is_text_mime(mime: str | None) -> bool:
    m = (mime or "").lower()
    return m.startswith("text/") or "json" in m or "xml" in m or "yaml" in m or "javascript" in m


class _Walker:
    def __init__(self, limits: ContentLimits) -> None:
        self.limits = limits
        self.segments: list[Segment] = []
        self.slots: list[_Slot] = []
        self.gaps: list[Uninspected] = []

    def add(self, text: str, location: str, setter: Callable[[str], None], depth: int = 0) -> None:
        if not text:
            return
        nested = _maybe_json(text) if depth < self.limits.max_depth else None
        if nested is not None and isinstance(nested, dict | list):
            holder = [nested]
            before = len(self.segments)
            self.walk(holder, 0, location + "<json>$", depth + 1)
            if len(self.segments) > before:

                def set_nested(_: str, holder: list[Any] = holder) -> None:
                    setter(json.dumps(holder[0], ensure_ascii=False, separators=_separators(text)))

                # re-serialise the outer string whenever a nested segment changes
                for slot in self.slots[before:]:
                    inner = slot.set

                    def chained(t: str, inner: Callable[[str], None] = inner) -> None:
                        inner(t)
                        set_nested("")

                    slot.set = chained
                return
        self.segments.append(Segment(text, location))
        self.slots.append(_Slot(setter))

    def walk(self, parent: Any, key: Any, path: str, depth: int) -> None:
        value = parent[key]
        if depth > self.limits.max_depth and isinstance(value, dict | list) and value:
            # Deeper than the limit: a gap for the failure policy, never a silent skip.
            self.gaps.append(Uninspected("oversize", path))
            return
        if isinstance(value, str):

            def setter(t: str, parent: Any = parent, key: Any = key) -> None:
                parent[key] = t

            self.add(value, path, setter, depth)
        elif isinstance(value, dict):
            if value.get("type") in _MEDIA and "data" in value:
                skip = {"data"}
            else:
                skip = set()
            blob = value.get("blob")
            if isinstance(blob, str):
                skip.add("blob")  # base64: inspected only when it holds text
                mime = value.get("mimeType")
                if _is_text_mime(mime) or (not mime and _sniff_text(blob)):
                    self._blob(value, path)
            for k in list(value):
                if k in skip or k in _NEVER or (k in _TOP_NEVER and "jsonrpc" in value):
                    continue
                self.walk(value, k, f"{path}.{k}" if _plain(k) else f"{path}[{json.dumps(k)}]", depth + 1)
        elif isinstance(value, list):
            for i in range(len(value)):
                self.walk(value, i, f"{path}[{i}]", depth + 1)

    def _blob(self, obj: dict[str, Any], path: str) -> None:
        try:
            raw = base64.b64decode(obj["blob"], validate=True)
        except (binascii.Error, ValueError):
            return
        text = raw.decode("utf-8", "surrogateescape")

        def setter(t: str, obj: dict[str, Any] = obj) -> None:
            obj["blob"] = base64.b64encode(t.encode("utf-8", "surrogateescape")).decode("ascii")

        self.add(text, f"{path}.blob<base64>", setter)


def _sniff_text(b64: str) -> bool:
    try:
        raw = base64.b64decode(b64[:4096 - 4096 % 4], validate=True)
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return False
    return sum(c.isprintable() or c in "\r\n\t" for c in text) >= 0.95 * max(1, len(text))


def _plain(k: str) -> bool:
    return k.isidentifier()


def _separators(original: str) -> tuple[str, str]:
    """Keep the original's style (compact or spaced), judged by its first key."""
    i = original.find('":')
    spaced = i >= 0 and original[i + 2: i + 3] == " "
    return (", ", ": ") if spaced else (",", ":")


def _maybe_json(text: str) -> Any:
    s = text.lstrip()
    if not s or s[0] not in "{[" or len(text) < 2:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None  # not JSON, or nested past the parser's limit: inspected as the text it is


def mcp_info(doc: Any) -> McpInfo | None:
    msgs = doc if isinstance(doc, list) else [doc]
    if not msgs or not all(isinstance(m, dict) and m.get("jsonrpc") == "2.0" for m in msgs):
        return None
    info = McpInfo(is_batch=isinstance(doc, list))
    for m in msgs:
        if "id" in m:
            info.ids.append(m["id"])
        if isinstance(m.get("method"), str):
            info.method = info.method or m["method"]
            info.kind = "request" if "id" in m else "notification"
            params = m.get("params")
            if m["method"] == "tools/call" and isinstance(params, dict) and isinstance(params.get("name"), str):
                info.tool = info.tool or params["name"]
        elif "error" in m:
            info.kind = "error"
    return info


def _parse_json_doc(doc: Any, text: str, charset: str, limits: ContentLimits, original: bytes) -> ParsedBody:
    w = _Walker(limits)
    holder = [doc]
    w.walk(holder, 0, "$", 0)
    separators = _separators(text[:2048])

    def rebuild() -> bytes:
        return encode_json(json.dumps(holder[0], ensure_ascii=False, separators=separators), charset)

    return ParsedBody(w.segments, mcp_info(doc), w.slots, rebuild, original, w.gaps)


def parse(body: bytes, kind: BodyKind, charset: str = "utf-8", limits: ContentLimits | None = None) -> ParsedBody:
    limits = limits or ContentLimits()
    text = decode_text(body, charset)
    if kind in (BodyKind.JSON, BodyKind.TEXT):
        try:
            doc = json.loads(text) if text.strip()[:1] in ("{", "[") else None
        except (ValueError, RecursionError):
            doc = None
        if doc is not None:
            return _parse_json_doc(doc, text, charset, limits, body)
        return _text(text, charset, body)
    if kind is BodyKind.NDJSON:
        return _ndjson(text, charset, limits, body)
    if kind is BodyKind.FORM:
        return _form(text, charset, body)
    return _text(text, charset, body)


def _text(text: str, charset: str, original: bytes) -> ParsedBody:
    box = [text]

    def setter(t: str) -> None:
        box[0] = t

    segs = [Segment(text, "body")] if text else []
    return ParsedBody(segs, None, [_Slot(setter)], lambda: encode_text(box[0], charset), original)


def _ndjson(text: str, charset: str, limits: ContentLimits, original: bytes) -> ParsedBody:
    lines = text.split("\n")
    segments: list[Segment] = []
    slots: list[_Slot] = []
    gaps: list[Uninspected] = []
    renders: list[Callable[[], str]] = []
    for n, line in enumerate(lines):
        try:
            doc = json.loads(line) if line.strip() else None
        except ValueError:
            doc = None
        if doc is None:
            box = [line]

            def set_line(t: str, box: list[str] = box) -> None:
                box[0] = t

            if line.strip():
                segments.append(Segment(line, f"line[{n}]"))
                slots.append(_Slot(set_line))
            renders.append(lambda box=box: box[0])  # type: ignore[misc]
            continue
        w = _Walker(limits)
        holder = [doc]
        w.walk(holder, 0, f"line[{n}]:$", 0)
        gaps += w.gaps
        segments += w.segments
        slots += w.slots
        orig = line
        changed = [False]
        for slot in w.slots:
            inner = slot.set

            def mark(t: str, inner: Callable[[str], None] = inner, changed: list[bool] = changed) -> None:
                inner(t)
                changed[0] = True

            slot.set = mark
        renders.append(lambda holder=holder, orig=orig, changed=changed:  # type: ignore[misc]
                       json.dumps(holder[0], ensure_ascii=False, separators=(",", ":")) if changed[0] else orig)
    return ParsedBody(segments, None, slots, lambda: encode_json("\n".join(r() for r in renders), charset), original,
                      gaps)


def _form(text: str, charset: str, original: bytes) -> ParsedBody:
    pairs = parse_qsl(text, keep_blank_values=True, encoding=charset, errors="surrogateescape")
    values = [list(p) for p in pairs]
    segments = []
    slots = []
    for i, (k, v) in enumerate(values):
        if v:
            segments.append(Segment(v, f"form[{k}]"))

            def setter(t: str, i: int = i) -> None:
                values[i][1] = t

            slots.append(_Slot(setter))
    return ParsedBody(segments, None, slots,
                      lambda: urlencode([(p[0], p[1]) for p in values], encoding=charset,
                                        errors="surrogateescape").encode("ascii"), original)
