"""Content-Encoding layer: every gzip member, zlib and raw deflate, br, stacked; trailing bytes are gaps."""

from __future__ import annotations

import gzip
import json
import zlib

import brotli
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icap_dlp.config import load_settings
from icap_dlp.content import ContentLimits, decode_body
from icap_dlp.errors import InspectionError
from icap_dlp.inspection import inspect_message, load_bundle
from icap_dlp.model import Action, Direction, RequestContext, Uninspected

LIMITS = ContentLimits(max_decoded_bytes=1 << 20, max_ratio=1000)


def _raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


CODERS = {"gzip": gzip.compress, "deflate": zlib.compress, "br": brotli.compress}


def test_every_gzip_member_is_decoded() -> None:
    parts = [b"one\n", b"two\n", b"three\n"]
    assert decode_body(b"".join(gzip.compress(p) for p in parts), "gzip", LIMITS) == b"one\ntwo\nthree\n"


def test_members_count_together_toward_the_cap() -> None:
    member = gzip.compress(b"x" * 400_000)
    with pytest.raises(InspectionError) as info:
        decode_body(member * 3, "gzip", LIMITS)
    assert info.value.reason == "oversize"


@pytest.mark.parametrize("enc", ["gzip", "deflate", "raw-deflate", "br"])
def test_trailing_garbage_is_an_undecodable_gap(enc: str) -> None:
    data = b'{"a": "hello"}' * 50
    packed = _raw_deflate(data) if enc == "raw-deflate" else CODERS[enc](data)
    header = "deflate" if enc == "raw-deflate" else enc
    gaps: list[Uninspected] = []
    assert decode_body(packed + b"card 4111111111111111", header, LIMITS, gaps) == data
    assert [g.reason for g in gaps] == ["undecodable"]
    with pytest.raises(InspectionError) as info:  # without a gap list, the gap is raised
        decode_body(packed + b"garbage", header, LIMITS)
    assert info.value.reason == "undecodable"


def test_nul_padding_after_a_member_is_not_a_gap() -> None:
    gaps: list[Uninspected] = []
    assert decode_body(gzip.compress(b"abc") + b"\0" * 8, "gzip", LIMITS, gaps) == b"abc"
    assert gaps == []


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["gzip", "deflate", "br"]), min_size=1, max_size=3), st.binary(max_size=2000))
def test_stacked_codings_round_trip(codings: list[str], data: bytes) -> None:
    packed = data
    for enc in codings:
        packed = CODERS[enc](packed)
    assert decode_body(packed, ", ".join(codings), LIMITS) == data


def test_open_undecodable_policy_inspects_what_was_decoded() -> None:
    bundle = load_bundle(load_settings({}, env={}))
    ctx = RequestContext(direction=Direction.RESPMOD, service="respmod")
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"content": [
        {"type": "text", "text": "key AKIAIOSFODNN7EXAMPLE"}]}}).encode()
    r = inspect_message(bundle, ctx, brotli.compress(body) + b"tail", content_type="application/json",
                        content_encoding="br")
    assert r.decision.action is Action.REDACT and b"AKIAIOSFODNN7EXAMPLE" not in (r.body or b"")
    assert [(g.reason, g.location) for g in r.gaps] == [("undecodable", "content-encoding:br:trailing[4]")]


def test_encoded_tokens_on_long_runs_and_near_misses() -> None:
    from icap_dlp.content import encoded_tokens

    # A 200 KB run that decodes to binary (a quadratic token search never finished here), a
    # percent sign that is not an escape, an entity.
    text = "A" * 200_000 + " x%zz a&amp;b"
    assert [(tok.kind, tok.text) for tok in encoded_tokens(text)] == [("entity", "a&b")]
