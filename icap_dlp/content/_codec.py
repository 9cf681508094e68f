"""Body classification, charsets and Content-Encoding (gzip, deflate, br) with bomb guards.

A redacted body is sent back as identity: ``Content-Encoding`` is removed and ``Content-Length``
set to the new size (always valid for the client, and the CPU cost of re-compressing is not paid
on the hot path). Decompression is incremental and stops at ``max_decoded_bytes`` or when the
expansion ratio exceeds ``max_ratio``, before the memory is allocated.
"""

from __future__ import annotations

import enum
import fnmatch
import functools
import re
import zlib
from dataclasses import dataclass

from icap_dlp.errors import InspectionError
from icap_dlp.model import Uninspected


@dataclass(frozen=True)
class ContentLimits:
    max_decoded_bytes: int = 64 * 1024 * 1024
    max_ratio: int = 200
    max_event_bytes: int = 1024 * 1024
    max_depth: int = 512  # JSON nesting walked; deeper is a gap (oversize). The parser stops near 1000.
    # Values and keys walked per document (a multipart body's parts share it); past it the rest
    # is a gap (oversize). Each costs about 1.5 KB at the peak of an expanded document's inspection.
    max_leaves: int = 500_000


class BodyKind(enum.Enum):
    JSON = "json"
    SSE = "sse"
    NDJSON = "ndjson"
    FORM = "form"
    TEXT = "text"
    MULTIPART = "multipart"
    SNIFF = "sniff"  # generic or unknown type: decided from the first bytes (content.sniff)
    SKIP = "skip"


# Specific binary types answered from the headers (the default of --skip-content-types).
# Generic ones (application/octet-stream, application/x-*, none) are sniffed instead.
DEFAULT_SKIP = ("image/*", "audio/*", "video/*", "font/*", "model/*", "application/zip", "application/pdf",
                "application/gzip", "application/x-protobuf", "application/grpc*", "application/vnd.ms-*",
                "application/vnd.openxmlformats*")
_TEXT_LIKE = ("application/xml", "application/javascript", "application/x-yaml", "application/yaml",
              "application/graphql", "application/sql")


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


@functools.lru_cache(maxsize=512)
def classify(content_type: str | None, skip: tuple[str, ...] = DEFAULT_SKIP) -> BodyKind:
    """What kind of body this is; media types matching a ``skip`` glob are not inspected.

    Cached: a handful of content types make up all traffic, and glob matching per request cost
    a few percent of a 4 KB transaction. The cache is bounded (hostile values only evict).
    """
    ct = media_type(content_type)
    if ct and any(fnmatch.fnmatchcase(ct, g) for g in skip):
        return BodyKind.SKIP
    if ct in ("application/json", "application/json-rpc", "application/jsonrequest") or ct.endswith("+json"):
        return BodyKind.JSON
    if ct == "text/event-stream":
        return BodyKind.SSE
    if ct in ("application/x-ndjson", "application/jsonl", "application/jsonlines", "application/json-seq"):
        return BodyKind.NDJSON
    if ct == "application/x-www-form-urlencoded":
        return BodyKind.FORM
    if ct.startswith("text/") or ct in _TEXT_LIKE or ct.endswith("+xml"):
        return BodyKind.TEXT
    if ct in ("multipart/form-data", "multipart/mixed"):
        return BodyKind.MULTIPART
    return BodyKind.SNIFF  # none, application/octet-stream, application/x-*, any other: the bytes decide


def charset_of(content_type: str | None) -> str:
    for part in (content_type or "").split(";")[1:]:
        k, _, v = part.strip().partition("=")
        if k.strip().lower() == "charset" and v.strip():
            name = v.strip().strip('"').lower()
            try:
                import codecs

                return codecs.lookup(name).name
            except LookupError:
                return "utf-8"
    return "utf-8"


def decode_text(data: bytes, charset: str) -> str:
    """Decode without ever failing: undecodable bytes survive a round trip (surrogateescape)."""
    try:
        return data.decode(charset, "surrogateescape")
    except (LookupError, UnicodeDecodeError):
        return data.decode("utf-8", "surrogateescape")


def encode_text(text: str, charset: str) -> bytes:
    try:
        return text.encode(charset, "surrogateescape")
    except (LookupError, UnicodeEncodeError):
        return text.encode("utf-8", "surrogateescape")


# Surrogates that surrogateescape cannot encode (it only maps U+DC80..U+DCFF back to bytes).
_LONE_SURROGATE = re.compile("[\ud800-\udc7f\udd00-\udfff]")


def encode_json(text: str, charset: str) -> bytes:
    """Encode JSON text; a lone surrogate (``"\\ud800"`` in the input) is written back escaped.

    Undecodable input bytes (surrogate-escaped on the way in) come back as the same bytes. Any
    other surrogate can only come from a ``\\uXXXX`` escape inside a JSON string, so writing it
    as that escape again is valid JSON and keeps the value.
    """
    try:
        return encode_text(text, charset)
    except UnicodeEncodeError:
        return encode_text(_LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text), charset)


def _encodings(header: str | None) -> list[str]:
    return [e.strip().lower() for e in (header or "").split(",") if e.strip()]


class _Output:
    """Decoded bytes under a cap: past ``limit`` it raises ``oversize`` before allocating more."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.data = bytearray()

    def room(self) -> int:
        return max(1, self.limit + 1 - len(self.data))

    def add(self, chunk: bytes) -> None:
        self.data += chunk
        if len(self.data) > self.limit:
            raise InspectionError(f"decoded body exceeds {self.limit} bytes", "oversize")


def _inflate_one(data: bytes, wbits: int, out: _Output) -> bytes:
    """Inflate one zlib/gzip/raw-deflate stream into ``out``; return the bytes after its end."""
    d = zlib.decompressobj(wbits)
    buf = data
    while buf:
        chunk = d.decompress(buf, out.room())
        out.add(chunk)
        buf = d.unconsumed_tail
        if d.eof:
            break
        if not chunk and not buf:
            break
    if not d.eof:
        raise InspectionError("truncated compressed body", "undecodable")
    return d.unused_data


_GZIP_MAGIC = b"\x1f\x8b"


def _gunzip(data: bytes, limit: int, gaps: list[Uninspected], enc: str) -> bytes:
    """Every member of a gzip file (RFC 1952 2.2: members are concatenated), not just the first."""
    out = _Output(limit)
    rest = _inflate_one(data, 16 + zlib.MAX_WBITS, out)
    while rest:
        if rest.startswith(_GZIP_MAGIC):
            rest = _inflate_one(rest, 16 + zlib.MAX_WBITS, out)
            continue
        _trailing(rest, gaps, enc)
        break
    return bytes(out.data)


def _deflate(data: bytes, limit: int, gaps: list[Uninspected], enc: str) -> bytes:
    """``deflate`` is zlib-wrapped by the RFC, raw deflate from some servers: both are accepted."""
    out = _Output(limit)
    try:
        rest = _inflate_one(data, zlib.MAX_WBITS, out)
    except zlib.error:
        out = _Output(limit)
        rest = _inflate_one(data, -zlib.MAX_WBITS, out)  # raw deflate, as some servers send
    if rest:
        _trailing(rest, gaps, enc)
    return bytes(out.data)


def _trailing(rest: bytes, gaps: list[Uninspected], enc: str) -> None:
    """Bytes after the end of a compressed stream: never inspected, so a gap (NUL padding is not)."""
    if rest.strip(b"\x00"):
        gaps.append(Uninspected("undecodable", f"content-encoding:{enc}:trailing[{len(rest)}]"))


def _brotli(data: bytes, limit: int, gaps: list[Uninspected], enc: str) -> bytes:
    import brotli

    out = _Output(limit)
    d = brotli.Decompressor()
    step = 4096
    i = 0
    while i < len(data) and not d.is_finished():
        piece = data[i:i + step]
        try:
            out.add(d.process(piece))
        except brotli.error:
            # Either corrupt, or the stream ended inside this piece and garbage follows: the
            # decoder state cannot be rewound, so decode again up to here and feed the piece
            # byte by byte to find the end.
            out = _Output(limit)
            d = brotli.Decompressor()
            out.add(d.process(data[:i]))
            j = i
            while j < i + len(piece) and not d.is_finished():
                out.add(d.process(data[j:j + 1]))  # a corrupt stream raises here: undecodable
                j += 1
            i = j
            break
        i += len(piece)
    if not d.is_finished():
        raise InspectionError("truncated brotli body", "undecodable")
    if i < len(data):
        _trailing(data[i:], gaps, enc)
    return bytes(out.data)


def decode_body(raw: bytes, content_encoding: str | None, limits: ContentLimits,
                gaps: list[Uninspected] | None = None) -> bytes:
    """Undo Content-Encoding (applied in order, so decode in reverse; stacked codings too).

    Bytes after the end of a compressed stream (other than further gzip members, which are all
    decoded) are a gap ``undecodable``: appended to ``gaps`` when given, else raised.
    """
    found: list[Uninspected] = []
    data = raw
    for enc in reversed(_encodings(content_encoding)):
        limit = min(limits.max_decoded_bytes, max(len(data), 1024) * limits.max_ratio)
        try:
            if enc in ("identity", ""):
                continue
            if enc in ("gzip", "x-gzip"):
                data = _gunzip(data, limit, found, enc)
            elif enc == "deflate":
                data = _deflate(data, limit, found, enc)
            elif enc == "br":
                data = _brotli(data, limit, found, enc)
            else:
                raise InspectionError(f"unsupported Content-Encoding {enc!r}", "undecodable")
        except zlib.error as exc:
            raise InspectionError(f"corrupt {enc} body: {exc}", "undecodable") from exc
        except InspectionError:
            raise
        except Exception as exc:  # brotli raises its own error type
            raise InspectionError(f"corrupt {enc} body: {type(exc).__name__}", "undecodable") from exc
    if found:
        if gaps is None:
            raise InspectionError("data after the end of the compressed body", "undecodable")
        gaps.extend(found)
    return data
