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


@dataclass(frozen=True)
class ContentLimits:
    max_decoded_bytes: int = 64 * 1024 * 1024
    max_ratio: int = 200
    max_event_bytes: int = 1024 * 1024
    max_depth: int = 64


class BodyKind(enum.Enum):
    JSON = "json"
    SSE = "sse"
    NDJSON = "ndjson"
    FORM = "form"
    TEXT = "text"
    SKIP = "skip"


DEFAULT_SKIP = ("image/*", "audio/*", "video/*", "font/*", "model/*", "application/octet-stream",
                "application/zip", "application/pdf", "application/gzip", "application/x-protobuf",
                "application/grpc*", "application/vnd.ms-*", "application/vnd.openxmlformats*")
_TEXT_LIKE = ("application/xml", "application/javascript", "application/x-yaml", "application/yaml",
              "application/graphql", "application/sql")


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


@functools.lru_cache(maxsize=512)
def classify(content_type: str | None, skip: tuple[str, ...] = DEFAULT_SKIP) -> BodyKind:
    """What kind of body this is; media types matching a ``skip`` glob are never inspected.

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
    if not ct:
        return BodyKind.TEXT  # no type: inspect (sniffed as JSON when it parses)
    return BodyKind.SKIP  # any other application/* type: binary until configured otherwise


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


def _inflate(data: bytes, wbits: int, limit: int) -> bytes:
    d = zlib.decompressobj(wbits)
    out = bytearray()
    buf = data
    while buf:
        chunk = d.decompress(buf, max(1, limit + 1 - len(out)))
        out += chunk
        if len(out) > limit:
            raise InspectionError(f"decoded body exceeds {limit} bytes", "oversize")
        buf = d.unconsumed_tail
        if d.eof:
            break
        if not chunk and not buf:
            break
    if not d.eof:
        raise InspectionError("truncated compressed body", "undecodable")
    return bytes(out)


def _brotli(data: bytes, limit: int) -> bytes:
    import brotli

    d = brotli.Decompressor()
    out = bytearray()
    step = 64 * 1024
    for i in range(0, len(data), step):
        out += d.process(data[i:i + step])
        if len(out) > limit:
            raise InspectionError(f"decoded body exceeds {limit} bytes", "oversize")
    if not d.is_finished():
        raise InspectionError("truncated brotli body", "undecodable")
    return bytes(out)


def decode_body(raw: bytes, content_encoding: str | None, limits: ContentLimits) -> bytes:
    """Undo Content-Encoding (applied in order, so decode in reverse)."""
    data = raw
    for enc in reversed(_encodings(content_encoding)):
        limit = min(limits.max_decoded_bytes, max(len(data), 1024) * limits.max_ratio)
        try:
            if enc in ("identity", ""):
                continue
            if enc in ("gzip", "x-gzip"):
                data = _inflate(data, 16 + zlib.MAX_WBITS, limit)
            elif enc == "deflate":
                try:
                    data = _inflate(data, zlib.MAX_WBITS, limit)
                except zlib.error:
                    data = _inflate(data, -zlib.MAX_WBITS, limit)  # raw deflate, as some servers send
            elif enc == "br":
                data = _brotli(data, limit)
            else:
                raise InspectionError(f"unsupported Content-Encoding {enc!r}", "undecodable")
        except zlib.error as exc:
            raise InspectionError(f"corrupt {enc} body: {exc}", "undecodable") from exc
        except InspectionError:
            raise
        except Exception as exc:  # brotli raises its own error type
            raise InspectionError(f"corrupt {enc} body: {exc}", "undecodable") from exc
    return data
