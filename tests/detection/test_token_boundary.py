"""No numeric identifier is found inside a longer hex or alphanumeric token.

Log lines and JSON lines carry 64-bit and 128-bit hex request ids (``req=4893866800257f7a``):
their digit runs look like cards, Korean RRNs or mobile numbers to a pattern that only asks for
no digit beside the value. The engine's one token-boundary rule drops a numeric candidate glued to
an ASCII letter on either side; non-ASCII letters (Hangul particles) may still follow.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from icap_dlp.detection import Engine, load_library
from icap_dlp.detection._engine import glued_number

LIB = load_library()
ENGINE = Engine(LIB, sorted(d.id for d in LIB.detectors if d.kind == "regex"))
FRAMES = ("2026-11-26T10:11:12.345Z INFO req={} path=/api/v2/items status=200 latency_ms=12",
          '{{"id": "{}", "sku": "SKU-10442-B3", "qty": 12}}', "trace {} done", "{}")


def _inside(text: str, token: str) -> list[str]:
    at = text.index(token)
    return [f"{f.detector_id}: {text[f.start:f.end]!r}" for f in ENGINE.scan(text)
            if f.start < at + len(token) and f.end > at]


def _id_spans(lines: list[tuple[str, str]]) -> tuple[str, list[tuple[int, int]]]:
    text, spans, at = [], [], 0
    for frame, token in lines:
        line = frame.format(token)
        start = at + line.index(token)
        spans.append((start, start + len(token)))
        text.append(line)
        at += len(line) + 1
    return "\n".join(text), spans


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32), upper=st.booleans())
def test_no_finding_inside_a_hex_id(seed: int, upper: bool) -> None:
    """200 log and JSON lines per example, each with a random 64-bit or 128-bit hex id (about one
    16-digit id in 2,000 held a "card", an RRN or a mobile number before the rule)."""
    rng = random.Random(seed)
    lines = []
    for _ in range(200):
        bits = rng.choice((64, 128))
        token = f"{rng.getrandbits(bits):0{bits // 4}x}"
        while token.isdigit():  # all decimal (1 id in 1,800): a number by form, e.g. a valid card
            token = f"{rng.getrandbits(bits):0{bits // 4}x}"
        lines.append((rng.choice(FRAMES), token.upper() if upper else token))
    text, spans = _id_spans(lines)
    found = ENGINE.scan(text)
    inside = [f"{f.detector_id}: {text[f.start:f.end]!r}" for f in found
              for s, e in spans if f.start < e and f.end > s]
    assert inside == []


@settings(max_examples=300, deadline=None)
@given(token=st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=12, max_size=40)
       .filter(lambda t: any(c.isalpha() for c in t)), frame=st.sampled_from(FRAMES))
def test_no_finding_inside_an_alphanumeric_token(token: str, frame: str) -> None:
    assert _inside(frame.format(token), token) == []


def test_known_hex_ids_from_real_logs() -> None:
    for token in ("4893866800257f7a", "a8a0b01035384112", "59d5509064139221ce3", "9803297768961d48",
                  "b246548991270564", "feb01680440033", "35c0173685404bc0"):
        assert _inside(f"req={token} path=/healthz", token) == [], token


def test_values_beside_punctuation_and_hangul_still_match() -> None:
    cases = {
        "card 4111 1111 1111 1111.": "credit-card",
        "card=4111111111111111&x=1": "credit-card",
        "(4111-1111-1111-1111)": "credit-card",
        "휴대폰 010-1234-5678입니다": "kr-mobile-phone",
        "주민번호 900101-1234568이고": "kr-rrn",
        "ssn: 536-22-8410;": "us-ssn",
        "tel +44 20 7946 0958, thanks": "phone-international",
    }
    for text, det in cases.items():
        assert det in {f.detector_id for f in ENGINE.scan(text)}, (text, det)


def test_glued_number_rule() -> None:
    t = "x4111111111111111 4111111111111111y 4111111111111111 010-1234-5678입니다 M789C1234a"
    assert glued_number(t, 1, 17)  # letter before
    assert glued_number(t, 18, 34)  # letter after
    assert not glued_number(t, 36, 52)
    assert not glued_number(t, 53, 66)  # Hangul after: allowed
    at = t.index("M789")
    assert not glued_number(t, at, at + 9)  # a value with letters is not a numeric identifier
    assert not glued_number("12345", 1, 4)  # digits beside a value: the pattern's lookarounds decide
    assert glued_number("ab1234", 2, 6) and glued_number("1234ab", 0, 4)
