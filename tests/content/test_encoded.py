"""Encoded tokens: the fast search finds exactly what the plain regular expressions find.

``encoded_tokens`` locates base64/hex runs with ``bytes.find``, rejects hex ids and binary base64
before decoding, and finds ``%xx``/entity tokens from the escape outwards. The reference below is
the straightforward version (one regex tried at every position, every candidate decoded): the
two must agree on any text, so no decodable token is skipped by a shortcut.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import os
import random
import re
import sys
from pathlib import Path
from urllib.parse import unquote

from hypothesis import given, settings
from hypothesis import strategies as st

from icap_dlp.config import load_settings
from icap_dlp.content import Token, encoded_tokens
from icap_dlp.content._sniff import looks_text
from icap_dlp.inspection import inspect_message, load_bundle
from icap_dlp.model import Action, Direction, RequestContext

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "loadtests"))
from payloads import typical_text

_BASE64 = re.compile(r"(?<![A-Za-z0-9+/_=-])(?:[A-Za-z0-9+/_-]{16,}={0,2}(?:\r?\n|\\n)?)+")
_PERCENT = re.compile(r"(?<![^\s\"'<>])[^\s\"'<>]*%[0-9A-Fa-f]{2}[^\s\"'<>]*")
_ENTITY = re.compile(r"(?<![^\s\"'<>])[^\s\"'<>]*&#?[A-Za-z0-9]{2,8};[^\s\"'<>]*")
_WRAP = re.compile(r"\r?\n|\\n")
_TRAILING_WRAP = re.compile(r"(?:\r?\n|\\n)+$")


def _text(data: bytes) -> bool:
    return len(data) >= 8 and looks_text(data)


def _ref_base64(raw: str) -> tuple[str, str] | None:
    packed = _WRAP.sub("", raw).strip()
    if re.fullmatch(r"[0-9A-Fa-f]+", packed) and len(packed) >= 32 and len(packed) % 2 == 0:
        data = bytes.fromhex(packed)
        return (data.decode("utf-8", "replace"), "hex") if _text(data) else None
    body = packed.rstrip("=")
    if len(body) < 16 or len(body) % 4 == 1:
        return None
    urlsafe = "-" in body or "_" in body
    try:
        data = base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_" if urlsafe else None, validate=True)
    except (binascii.Error, ValueError):
        return None
    return (data.decode("utf-8", "replace"), "base64") if _text(data) else None


def _ref_percent(raw: str) -> tuple[str, str] | None:
    decoded = unquote(raw, errors="replace")
    return (decoded, "percent") if decoded != raw else None


def _ref_entity(raw: str) -> tuple[str, str] | None:
    decoded = html.unescape(raw)
    return (decoded, "entity") if decoded != raw else None


def reference(text: str) -> list[Token]:
    out: list[Token] = []
    budget = 1 << 20
    for rx, decode in ((_BASE64, _ref_base64), (_PERCENT, _ref_percent), (_ENTITY, _ref_entity)):
        for m in rx.finditer(text):
            got = decode(m.group())
            if got is None:
                continue
            tail = _TRAILING_WRAP.search(m.group())
            out.append(Token(m.start(), m.end() - (len(tail.group()) if tail else 0), *got))
            budget -= len(got[0])
            if len(out) >= 256 or budget <= 0:
                return sorted(out)
    return sorted(out)


_ENV = "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\nDB_PASSWORD=hunter2hunter2\n"
_PIECES = [
    "A" * 16, "a" * 15, "=", "==", "\n", "\r\n", "\\n", "\\", "%41", "%4", "%zz", "%e2%82", "&amp;", "&#64;", "&",
    " ", '"', "<", "\u00e9", "\u20ac", "\u00a0", "\t", "x", "_", "-", "+", "/", "g", "0", "deadbeef" * 4,
    "0123456789abcdef", "00" * 16, "c3a9" * 8, "F09D849E" * 4,
    base64.b64encode(b"password: hunter2 here").decode(), _ENV.encode().hex(), _ENV.encode().hex().upper(),
    base64.b64encode("na\u00efve text \u00fcn\u00efcode".encode()).decode(),
    base64.urlsafe_b64encode(b"token: abc?>?>?>def").decode(), base64.b64encode(os.urandom(30)).decode(),
    base64.b64encode("\u00e9t\u00e9 \u00e0 Paris, secret=hunter2".encode()).decode(),  # starts "w6l"
    base64.b64encode("\u20ac 42 per month, card 4111".encode()).decode(),  # starts with a 3-byte character
    ("caf\u00e9 na\u00efve \u20ac".encode() + b"\xe2\x82").hex(),  # a character cut at the end
    (b"clef: \xf0\x9d\x84\x9e and more text" + b"\xf0\x9d\x84").hex(),  # 3 bytes of 4 cut: still text
]
_ids = st.binary(min_size=8, max_size=40).map(bytes.hex)
_texts = st.lists(st.one_of(st.sampled_from(_PIECES), _ids, st.characters(min_codepoint=32, max_codepoint=126),
                            st.characters(), st.sampled_from("\x85\u2028\u3000\x0b\x1c\ufeff\U0001f600")),
                  max_size=40).map("".join)


@settings(max_examples=2000, deadline=None)
@given(_texts)
def test_property_fast_search_equals_the_reference(text: str) -> None:
    assert encoded_tokens(text) == reference(text)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.binary(min_size=8, max_size=64),
                 st.text(min_size=4, max_size=40).map(lambda s: s.encode("utf-8", "surrogatepass")[:48])),
       st.booleans(), st.sampled_from(["", " ", "x", "=", "\n"]))
def test_property_hex_gate_rejects_only_what_decoding_would(data: bytes, upper: bool, after: str) -> None:
    hexed = data.hex().upper() if upper else data.hex()
    text = f"id {hexed}{after}"
    assert encoded_tokens(text) == reference(text)


def test_typical_tool_output_and_long_tokens_agree_with_the_reference() -> None:
    for size in (4096, 65536):
        text = typical_text(size, seed=size)
        assert encoded_tokens(text) == reference(text)
    rng = random.Random(3)
    long_ones = [
        "x " + os.urandom(5000).hex() + " y",  # longer than what looks_text reads
        "x " + ("caf\u00e9 " * 2000).encode().hex() + " y",
        "b " + base64.b64encode(b"\x89PNG" + os.urandom(9000)).decode() + " e",
        "b " + base64.b64encode(("line of text " * 800).encode()).decode() + " e",
        " ".join(f"%{rng.randrange(256):02x}" + "a" * rng.randrange(200) for _ in range(50)),
        "w" * 300 + "%41" + "v" * 300 + " " + "q" * 70 + "&amp;" + "z" * 70,
    ]
    for text in long_ones:
        assert encoded_tokens(text) == reference(text)


def test_hex_and_base64_env_next_to_hundreds_of_hex_ids_is_caught() -> None:
    rng = random.Random(7)
    ids = [f"{rng.getrandbits(128):032x}" for _ in range(400)] + [f"{rng.getrandbits(64):016x}" for _ in range(200)]
    env_hex = _ENV.encode().hex()
    env_b64 = base64.b64encode(_ENV.encode()).decode()
    lines = [f"2026-11-27T02:00:{i % 60:02d}Z GET /v1/items req={x} ok" for i, x in enumerate(ids)]
    lines.insert(300, f"config dump: {env_hex}")
    lines.insert(450, f"attachment: {env_b64}")
    text = "\n".join(lines)

    kinds = {(tok.kind, tok.text) for tok in encoded_tokens(text)}
    assert kinds == {("hex", _ENV), ("base64", _ENV)}

    bundle = load_bundle(load_settings({}, env={}))
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text": text}]}}).encode()
    r = inspect_message(bundle, RequestContext(direction=Direction.RESPMOD, service="respmod"), body,
                        content_type="application/json")
    assert r.decision.action is Action.REDACT, r.decision
    inside = {f.explanation.rpartition("inside ")[2] for fs in r.findings for f in fs if "inside " in f.explanation}
    assert inside == {"hex", "base64"}
    out = json.loads(r.body or b"")["result"]["content"][0]["text"]
    assert env_hex not in out and env_b64 not in out
    assert all(x in out for x in ids)  # the ids themselves are left alone
