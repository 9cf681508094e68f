"""Encoded content inside text: base64, hex, percent-encoding and HTML entities.

``encoded_tokens(text)`` finds tokens that decode to text (a ``.env`` file base64-encoded inside a
tool result, ``alice%40example.com``, ``alice&#64;example.com``) and returns each with its decoded
text, so the detectors read it; a finding inside a decoded token redacts the whole token. Minimum
token lengths (16 base64 characters, 32 hex digits) and the rule that decoded bytes be valid,
mostly printable UTF-8 leave ids and digests alone (a 32-hex request id decodes to binary).

Log-like text is full of hex ids, UUIDs and digests, so the search costs little per byte and
per id: runs of the base64 alphabet are found with ``bytes.translate`` and ``bytes.find`` (no
regex tried at every position), ``%``/``&`` tokens from the escape itself outwards, and a hex
token whose leading digits cannot spell UTF-8 is rejected before any byte is decoded.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
from collections.abc import Iterator
from typing import NamedTuple
from urllib.parse import unquote

from icap_dlp.content._sniff import SNIFF_BYTES, looks_text

MIN_BASE64 = 16
MIN_HEX = 32
MAX_TOKENS = 256  # per text
MAX_DECODED = 1 << 20  # bytes decoded per text

# A base64 token starts after a character outside its alphabet (the lookbehind, '=' included)
# with 16 characters of it ('=' excluded): exactly where _BASE64 can match.
_WORD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-"
_RUN_TABLE = bytes(0x61 if chr(i) in _WORD else 0x20 for i in range(256))
_IN_RUN = 0x61
_RUN = b"a" * MIN_BASE64
_GAP = b" "

_BASE64 = re.compile(r"(?<![A-Za-z0-9+/_=-])(?:[A-Za-z0-9+/_-]{16,}={0,2}(?:\r?\n|\\n)?)+")
# The %xx and entity tokens: a maximal run of characters other than these delimiters that holds
# an escape (what ``(?<![^\s"'<>])[^\s"'<>]*%[0-9A-Fa-f]{2}[^\s"'<>]*`` matches).
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_ENTITY = re.compile(r"&#?[A-Za-z0-9]{2,8};")
_RUN_FORWARD = re.compile(r"[^\s\"'<>]*")
_RUN_BACK = re.compile(r"[^\s\"'<>]*\Z")
_BACK_WINDOW = 64
_HEX = re.compile(r"[0-9A-Fa-f]+")
# Hex digits that spell UTF-8 without NUL, one character at a time (lead bytes loosely): the
# bytes of text are such characters, to at most 3 bytes before the end of the part looks_text
# reads; a random id fails within its first few bytes.
_UTF8_CHAR = (r"(?:0[1-9A-Fa-f]|[1-7][0-9A-Fa-f]|[CDcd][0-9A-Fa-f][89ABab][0-9A-Fa-f]"
              r"|[Ee][0-9A-Fa-f](?:[89ABab][0-9A-Fa-f]){2}|[Ff][0-7](?:[89ABab][0-9A-Fa-f]){3})")
_HEX_UTF8 = re.compile(_UTF8_CHAR + "*")
# A whole token (nothing after it that _BASE64 would take) of 32 hex digits to the bytes
# looks_text reads whose UTF-8 reading stops more than 3 bytes before its end: an id or digest,
# rejected in one match (a longer token takes _decode_base64's way).
_NOT_IN_TOKEN = r"(?![A-Za-z0-9+/_=\r\n\\-])"
_BINARY_HEX = re.compile(rf"(?=(?:[0-9A-Fa-f]{{2}}){{{MIN_HEX // 2},{SNIFF_BYTES}}}{_NOT_IN_TOKEN})"
                         + _UTF8_CHAR + rf"*+(?![0-9A-Fa-f]{{0,6}}{_NOT_IN_TOKEN})")
# Base64 characters that put a byte UTF-8 never starts with (80-BF, F8-FF) first: not hex digits.
_NOT_FIRST = frozenset("ghijklmnopqrstuv+/-_")
_B64_SNIFF = SNIFF_BYTES // 3 * 4 + 4  # base64 characters that decode to the bytes looks_text reads
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
    if len(text) < MIN_BASE64 and "%" not in text and "&" not in text:
        return []  # too short for base64 or hex, no escape: a JSON key, a number, a short value
    out: list[Token] = []
    budget = MAX_DECODED
    for spans, decode in ((_base64_spans(text), _decode_base64), (_escape_spans(text, "%", _PERCENT), _decode_percent),
                          (_escape_spans(text, "&", _ENTITY), _decode_entity)):
        for start, end in spans:
            raw = text[start:end]
            got = decode(raw)
            if got is None:
                continue
            decoded, kind = got
            tail = _TRAILING_WRAP.search(raw) if raw.endswith(("\n", "\\n")) else None
            out.append(Token(start, end - (len(tail.group()) if tail else 0), decoded, kind))
            budget -= len(decoded)
            if len(out) >= MAX_TOKENS or budget <= 0:
                return sorted(out)
    return sorted(out)


def _base64_spans(text: str) -> Iterator[tuple[int, int]]:
    """Where ``_BASE64`` matches, left to right: tried only at the start of a run of 16 characters
    of its alphabet that follows a character outside it (after ``=`` or inside a longer run, the
    lookbehind fails at every position of the run)."""
    data = text.encode("ascii") if text.isascii() else text.encode("ascii", "replace")  # one byte a character
    runs = data.translate(_RUN_TABLE)
    find, match, binary = runs.find, _BASE64.match, _BINARY_HEX.match
    pos = find(_RUN)
    while pos >= 0:
        if pos and (runs[pos - 1] == _IN_RUN or text[pos - 1] == "="):
            pos = find(_GAP, pos)  # to the end of this run
            if pos < 0:
                return
        elif binary(text, pos) is not None:  # what _decode_base64 would reject, without Python work
            pos = find(_GAP, pos)  # the hex run is the whole token
            if pos < 0:
                return
        else:
            m = match(text, pos)
            if m is None:  # pragma: no cover - 16 characters of the alphabet after another one match
                pos += 1
            else:
                yield m.span()
                pos = m.end()
        pos = find(_RUN, pos)


def _escape_spans(text: str, mark: str, escape: re.Pattern[str]) -> Iterator[tuple[int, int]]:
    """Each maximal run of non-delimiters that holds an ``escape``, left to right."""
    if mark not in text:
        return
    end = 0
    for hit in escape.finditer(text):
        p = hit.start()
        if p < end:
            continue
        start, window = p, _BACK_WINDOW
        while True:  # back to the run's start, in windows that double (linear in the run)
            lo = max(end, start - window)
            found = _RUN_BACK.search(text, lo, start)
            assert found is not None  # the empty run at ``start`` matches
            if found.start() > lo or lo == end:
                start = found.start()
                break
            start, window = lo, window * 2
        end_m = _RUN_FORWARD.match(text, hit.end())
        assert end_m is not None
        end = end_m.end()
        yield start, end


def _decode_base64(raw: str) -> tuple[str, str] | None:
    if raw[0] in _NOT_FIRST:
        return None
    packed = _WRAP.sub("", raw).strip() if "\n" in raw or "\\" in raw else raw
    if len(packed) >= MIN_HEX and len(packed) % 2 == 0 and _HEX.fullmatch(packed):
        # Text in hex is UTF-8 from its first digit: ids and digests fail here, undecoded.
        need = 2 * (min(len(packed) // 2, SNIFF_BYTES) - 3)
        head = _HEX_UTF8.match(packed)
        if head is None or head.end() < need:
            return None
        data = bytes.fromhex(packed)
        return (data.decode("utf-8", "replace"), "hex") if _is_text(data) else None
    body = packed.rstrip("=")
    if len(body) < MIN_BASE64 or len(body) % 4 == 1:
        return None
    urlsafe = "-" in body or "_" in body
    altchars = b"-_" if urlsafe else None
    try:
        if len(body) > _B64_SNIFF and not _is_text(base64.b64decode(body[:_B64_SNIFF], altchars=altchars,
                                                                      validate=True)):
            return None  # the bytes looks_text reads are binary: the rest is not decoded
        data = base64.b64decode(body + "=" * (-len(body) % 4), altchars=altchars, validate=True)
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
