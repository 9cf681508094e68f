"""Encoded content inside text: base64, hex, percent-encoding and HTML entities.

``encoded_tokens(text)`` finds tokens that decode to text (a ``.env`` file base64-encoded inside a
tool result, ``alice%40example.com``, ``alice&#64;example.com``) and returns each with its decoded
text, so the detectors read it; a finding inside a decoded token redacts the whole token. Minimum
token lengths (16 base64 characters, 32 hex digits) and the rule that decoded bytes be valid,
mostly printable UTF-8 leave ids and digests alone (a 32-hex request id decodes to binary). Text
without candidates costs one pass over its bytes (``bytes.translate`` and a substring search).
"""

from __future__ import annotations

import base64
import binascii
import html
import re
from typing import NamedTuple
from urllib.parse import unquote

from icap_dlp.content._sniff import looks_text

MIN_BASE64 = 16
MIN_HEX = 32
MAX_TOKENS = 256  # per text
MAX_DECODED = 1 << 20  # bytes decoded per text

_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_="
_RUN_TABLE = bytes(0x61 if i in _B64_ALPHABET else 0x20 for i in range(256))
_RUN = b"a" * MIN_BASE64

_BASE64 = re.compile(r"(?<![A-Za-z0-9+/_=-])(?:[A-Za-z0-9+/_-]{16,}={0,2}(?:\r?\n|\\n)?)+")
# Anchored at a token's start (the lookbehind): linear, however long a run without % or &.
_PERCENT = re.compile(r"(?<![^\s\"'<>])[^\s\"'<>]*%[0-9A-Fa-f]{2}[^\s\"'<>]*")
_ENTITY = re.compile(r"(?<![^\s\"'<>])[^\s\"'<>]*&#?[A-Za-z0-9]{2,8};[^\s\"'<>]*")
_HEX = re.compile(r"[0-9A-Fa-f]+")
_WRAP = re.compile(r"\r?\n|\\n")
_TRAILING_WRAP = re.compile(r"(?:\r?\n|\\n)+$")


class Token(NamedTuple):
    start: int
    end: int
    text: str  # decoded
    kind: str  # base64 | hex | percent | entity


def has_candidates(text: str) -> bool:
    """Cheap test: could ``text`` hold an encoded token at all?"""
    if "%" in text or "&" in text:
        return True
    data = text.encode("ascii", "ignore") if not text.isascii() else text.encode("ascii")
    return _RUN in data.translate(_RUN_TABLE)


def encoded_tokens(text: str) -> list[Token]:
    """The tokens of ``text`` that decode to text, left to right, at most ``MAX_TOKENS``."""
    if not has_candidates(text):
        return []
    out: list[Token] = []
    budget = MAX_DECODED
    for rx, decode, mark in ((_BASE64, _decode_base64, ""), (_PERCENT, _decode_percent, "%"),
                             (_ENTITY, _decode_entity, "&")):
        if mark and mark not in text:
            continue
        for m in rx.finditer(text):
            raw = m.group()
            got = decode(raw)
            if got is None:
                continue
            decoded, kind = got
            tail = _TRAILING_WRAP.search(raw)
            out.append(Token(m.start(), m.end() - (len(tail.group()) if tail else 0), decoded, kind))
            budget -= len(decoded)
            if len(out) >= MAX_TOKENS or budget <= 0:
                return sorted(out)
    return sorted(out)


def _decode_base64(raw: str) -> tuple[str, str] | None:
    packed = _WRAP.sub("", raw).strip()
    if _HEX.fullmatch(packed) and len(packed) >= MIN_HEX and len(packed) % 2 == 0:
        data = bytes.fromhex(packed)
        return (data.decode("utf-8", "replace"), "hex") if _is_text(data) else None
    body = packed.rstrip("=")
    if len(body) < MIN_BASE64 or len(body) % 4 == 1:
        return None
    urlsafe = "-" in body or "_" in body
    try:
        data = base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_" if urlsafe else None, validate=True)
    except (binascii.Error, ValueError):
        return None
    return (data.decode("utf-8", "replace"), "base64") if _is_text(data) else None


def _is_text(data: bytes) -> bool:
    return len(data) >= 8 and looks_text(data)


def _decode_percent(raw: str) -> tuple[str, str] | None:
    # Bytes that are not UTF-8 (a cut multi-byte sequence, Latin-1) become U+FFFD: the ASCII
    # around them is still inspected, and the token is not an undecodable gap of the message.
    decoded = unquote(raw, errors="replace") if "%" in raw else raw
    return (decoded, "percent") if decoded != raw else None


def _decode_entity(raw: str) -> tuple[str, str] | None:
    decoded = html.unescape(raw)
    return (decoded, "entity") if decoded != raw else None
