"""Body shapes: exact outputs for MCP JSON-RPC, SSE, codecs and hostile bodies."""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from collections.abc import Callable

import brotli
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icap_dlp.content import BodyKind, ContentLimits, ParsedBody, SseStream, classify, decode_body, parse
from icap_dlp.content._parse import redacted_number
from icap_dlp.errors import InspectionError


def texts(body: bytes, kind: BodyKind = BodyKind.JSON) -> list[tuple[str, str]]:
    return [(s.location, s.text) for s in parse(body, kind).segments]


def values(p: ParsedBody) -> list[tuple[int, str, str]]:
    """(index, location, text) of the segments that may change: not keys, not the envelope."""
    return [(i, s.location, s.text) for i, s in enumerate(p.segments)
            if not s.location.endswith("<key>") and i not in p.fixed]


def test_escaped_json_is_seen_decoded_and_untouched_bytes_come_back_identical() -> None:
    body = b'{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"alice\\u0040example.com"}]}}'
    p = parse(body, BodyKind.JSON).expanded()
    assert [t for _, _, t in values(p)] == ["text", "alice@example.com"]
    assert p.render({}) == body
    i = values(p)[1][0]
    assert json.loads(p.render({i: "[EMAIL]"}))["result"]["content"][0]["text"] == "[EMAIL]"


def test_keys_and_envelope_are_inspected_the_envelope_is_fixed() -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": "req-1", "method": "tools/call",
                       "params": {"name": "search", "arguments": {"secret_key": "v", "n": 12}}}).encode()
    p = parse(body, BodyKind.JSON).expanded()
    # An object's keys, then its values depth first; context: the last keys of the path.
    assert [(s.location, s.text, s.context) for s in p.segments] == [
        ("$.jsonrpc<key>", "jsonrpc", ""), ("$.id<key>", "id", ""), ("$.method<key>", "method", ""),
        ("$.params<key>", "params", ""), ("$.jsonrpc", "2.0", "jsonrpc"), ("$.id", "req-1", "id"),
        ("$.method", "tools/call", "method"), ("$.params.name<key>", "name", "params"),
        ("$.params.arguments<key>", "arguments", "params"), ("$.params.name", "search", "params name"),
        ("$.params.arguments.secret_key<key>", "secret_key", "arguments"),
        ("$.params.arguments.n<key>", "n", "arguments"),
        ("$.params.arguments.secret_key", "v", "arguments secret_key"), ("$.params.arguments.n", "12", "arguments n")]
    assert p.fixed == frozenset(range(7))  # the envelope and its keys
    out = json.loads(p.render({12: "[SECRET]", 10: "[KEY]", 13: "[NUMBER]"}))
    assert out["params"]["arguments"] == {"[KEY]": "[SECRET]", "n": 10}
    assert p.mcp is not None and p.mcp.tool == "search" and p.mcp.method == "tools/call" and p.mcp.ids == ["req-1"]


def test_json_inside_a_text_field_is_walked_and_reserialised() -> None:
    inner = json.dumps({"user": {"email": "bob@example.com"}, "n": 1})
    body = json.dumps({"jsonrpc": "2.0", "id": 2, "result": {"content": [{"type": "text", "text": inner}]}}).encode()
    p = parse(body, BodyKind.JSON).expanded()
    (i,) = [i for i, loc, _ in values(p) if loc == "$.result.content[0].text<json>$.user.email"]
    assert p.segments[i].text == "bob@example.com" and p.segments[i].context == "user email"
    out = json.loads(p.render({i: "[EMAIL]"}))
    assert json.loads(out["result"]["content"][0]["text"]) == {"user": {"email": "[EMAIL]"}, "n": 1}


def test_text_blob_is_decoded_and_reencoded_binary_and_images_are_skipped() -> None:
    blob = base64.b64encode(b"password: hunter2hunter2").decode()
    body = json.dumps({"jsonrpc": "2.0", "id": 3, "result": {"contents": [
        {"uri": "file:///a.txt", "mimeType": "text/plain", "blob": blob},
        {"uri": "file:///b.png", "mimeType": "image/png", "blob": "iVBORw0KGgo="},
        {"type": "image", "data": "iVBORw0KGgo=", "mimeType": "image/png"},
    ]}}).encode()
    p = parse(body, BodyKind.JSON).expanded()
    locs = [s.location for s in p.segments]
    assert "$.result.contents[0].blob<base64>" in locs
    assert not any(("contents[1].blob" in loc or "contents[2].data" in loc) and "<key>" not in loc
                   for loc in locs)
    i = locs.index("$.result.contents[0].blob<base64>")
    out = json.loads(p.render({i: "password: [PASSWORD]"}))
    assert base64.b64decode(out["result"]["contents"][0]["blob"]) == b"password: [PASSWORD]"


def test_batch_and_error_messages() -> None:
    body = json.dumps([{"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text": "a"}]}},
                       {"jsonrpc": "2.0", "id": 2, "error": {"code": -1, "message": "m", "data": {"x": "d"}}}]).encode()
    p = parse(body, BodyKind.JSON).expanded()
    assert p.mcp is not None and p.mcp.is_batch and p.mcp.ids == [1, 2]
    assert [t for _, _, t in values(p)] == ["text", "a", "-1", "m", "d"]


def test_invalid_json_is_treated_as_text() -> None:
    p = parse(b'{"broken": "alice@example.com"', BodyKind.JSON)
    assert [(s.location, s.text) for s in p.segments] == [("body", '{"broken": "alice@example.com"')]
    assert p.mcp is None


def test_non_utf8_bytes_survive_a_round_trip() -> None:
    body = b'{"a": "caf\xe9 alice@example.com", "b": "ok"}'
    p = parse(body, BodyKind.JSON).expanded()
    assert p.render({}) == body
    out = p.render({1: "fine"})
    assert out.startswith(b'{"a": "caf\xe9') and b'"fine"' in out


def test_declared_charset_is_honoured() -> None:
    body = "{\"a\": \"Zürich\"}".encode("latin-1")
    p = parse(body, BodyKind.JSON, "iso8859-1").expanded()
    assert p.segments[1].text == "Zürich"
    assert p.render({1: "Genève"}) == "{\"a\": \"Genève\"}".encode("latin-1")


def test_ndjson_and_form() -> None:
    p = parse(b'{"a":"x"}\nnot json\n{"b":"y"}', BodyKind.NDJSON).expanded()
    assert [s.text for s in p.segments] == ["a", "x", "not json", "b", "y"]
    assert p.render({4: "Y"}) == b'{"a":"x"}\nnot json\n{"b":"Y"}'
    f = parse(b"q=alice%40example.com&n=1", BodyKind.FORM)
    assert [s.text for s in f.segments] == ["alice@example.com", "1"]
    assert f.render({0: "[EMAIL]"}) == b"q=%5BEMAIL%5D&n=1"


def test_classify() -> None:
    assert classify("application/json; charset=utf-8") is BodyKind.JSON
    assert classify("application/vnd.api+json") is BodyKind.JSON
    assert classify("text/event-stream") is BodyKind.SSE
    assert classify("application/x-ndjson") is BodyKind.NDJSON
    assert classify("text/html") is BodyKind.TEXT
    assert classify("image/png") is BodyKind.SKIP
    assert classify("application/octet-stream") is BodyKind.SNIFF  # generic: the bytes decide
    assert classify("application/x-whatever") is BodyKind.SNIFF
    assert classify(None) is BodyKind.SNIFF
    assert classify("multipart/form-data; boundary=x") is BodyKind.MULTIPART


LIMITS = ContentLimits(max_decoded_bytes=1 << 20, max_ratio=50)


def test_codecs_roundtrip() -> None:
    data = b'{"a": "hello"}' * 100
    assert decode_body(gzip.compress(data), "gzip", LIMITS) == data
    assert decode_body(zlib.compress(data), "deflate", LIMITS) == data
    raw = zlib.compressobj(wbits=-15)
    assert decode_body(raw.compress(data) + raw.flush(), "deflate", LIMITS) == data
    assert decode_body(brotli.compress(data), "br", LIMITS) == data
    assert decode_body(brotli.compress(gzip.compress(data)), "gzip, br", LIMITS) == data
    assert decode_body(data, "identity", LIMITS) == data


def _bomb(size: int) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\0" * (1 << 20)
    out = [c.compress(zeros) for _ in range(size >> 20)]
    return b"".join(out) + c.flush()


def test_gzip_bomb_stops_at_the_cap() -> None:
    bomb = _bomb(1 << 30)  # 1 GiB of zeros in about 1 MB
    assert len(bomb) < 2 << 20
    with pytest.raises(InspectionError) as info:
        decode_body(bomb, "gzip", LIMITS)
    assert info.value.reason == "oversize"


@pytest.mark.parametrize(("data", "enc"), [(b"not gzip at all", "gzip"), (gzip.compress(b"x" * 100)[:-10], "gzip"),
                                           (b"\x00\x01", "br"), (b"abc", "compress")])
def test_corrupt_or_unknown_encoding_is_undecodable(data: bytes, enc: str) -> None:
    with pytest.raises(InspectionError) as info:
        decode_body(data, enc, LIMITS)
    assert info.value.reason == "undecodable"


SSE = (b'event: message\ndata: {"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"a@b.io"}]}}\n\n'
       b': keep-alive comment\n\n'
       b'id: 7\r\nevent: message\r\ndata: {"jsonrpc":"2.0",\r\ndata: "id":2,"result":{}}\r\n\r\n')


@pytest.mark.parametrize("step", [1, 3, 17, len(SSE)])
def test_sse_events_identical_however_the_stream_is_split(step: int) -> None:
    s = SseStream()
    events = []
    for i in range(0, len(SSE), step):
        events += s.feed(SSE[i:i + step])
    events += s.close()
    assert b"".join(e.raw for e in events) == SSE
    assert len(events) == 3
    first = events[0].parsed().expanded()
    assert [t for _, _, t in values(first)] == ["text", "a@b.io"]
    email = values(first)[1][0]
    assert first.render({email: "[EMAIL]"}) == (b'event: message\ndata: {"jsonrpc":"2.0","id":1,"result":{"content":'
                                                b'[{"type":"text","text":"[EMAIL]"}]}}\n\n')
    multi = events[2].parsed()
    assert multi.mcp is not None and multi.mcp.ids == [2]


def test_sse_event_cap() -> None:
    s = SseStream(max_event_bytes=100)
    out = s.feed(b"data: " + b"x" * 200)
    assert len(out) == 1 and out[0].oversize
    rest = s.feed(b"yyy\n\ndata: ok\n\n")
    assert rest[0].oversize and not rest[1].oversize


leaves = st.recursive(
    st.text(max_size=20) | st.integers() | st.booleans() | st.none(),
    lambda ch: st.lists(ch, max_size=4) | st.dictionaries(st.text(max_size=8), ch, max_size=4), max_leaves=20)


def _leaf_types(value: object, path: str, out: dict[str, type]) -> dict[str, type]:
    """JSON path (as segments name it) -> Python type of each string/number leaf."""
    if isinstance(value, dict):
        for k, v in value.items():
            _leaf_types(v, f"{path}.{k}" if k.isidentifier() else f"{path}[{json.dumps(k)}]", out)
    elif isinstance(value, list):
        for n, v in enumerate(value):
            _leaf_types(v, f"{path}[{n}]", out)
    elif isinstance(value, str | int) and not isinstance(value, bool):
        out[path] = type(value)
    return out


@settings(max_examples=150, deadline=None)
@given(leaves, st.integers(), st.data())
def test_property_render_changes_only_the_replaced_leaves(payload: object, rpc_id: int, data: st.DataObject) -> None:
    msg = {"jsonrpc": "2.0", "id": rpc_id, "result": {"structuredContent": payload}}
    body = json.dumps(msg).encode()
    p = parse(body, BodyKind.JSON).expanded()
    assert p.render({}) == body
    types = _leaf_types(payload, "$.result.structuredContent", {})
    leaves = [i for i, loc, _ in values(p) if loc in types]  # (not JSON-in-a-string leaves)
    if not leaves:
        return
    chosen = data.draw(st.sets(st.sampled_from(leaves), max_size=3))
    out = json.loads(p.render({i: "<R>" for i in chosen}))
    assert out["id"] == rpc_id and out["jsonrpc"] == "2.0"
    again = parse(json.dumps(out).encode(), BodyKind.JSON).expanded()
    assert len(again.segments) == len(p.segments)
    for i, (a, b) in enumerate(zip(p.segments, again.segments, strict=True)):
        assert b.location == a.location
        if i not in chosen:
            assert b.text == a.text
        elif types[a.location] is str:
            assert b.text == "<R>"
        else:  # a number stays a number of the same digit count, every digit masked
            # compared as JSON values: a masked "-1" is "-0", which JSON reads back as 0
            assert json.loads(b.text) == json.loads(redacted_number(a.text, "<R>"))
            assert sum(c.isdigit() for c in b.text) == sum(c.isdigit() for c in a.text)


def test_redacted_numbers_keep_their_digit_count() -> None:
    assert redacted_number("536228145", "[US_SSN]") == "100000000"
    assert redacted_number("4111111111111111", "************1111") == "1000000000001111"
    assert redacted_number("-4111111111111111", "[CARD]") == "-1000000000000000"
    assert redacted_number("7", "*") == "0"
    assert redacted_number("3.14159e10", "[X]") == "0.00000e00"


def test_a_quick_walk_scans_keys_numbers_and_short_strings_as_one_structure_segment() -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 7, "result": {"structuredContent": {
        "ssn": 536228145, "note": "short", "long": "x" * 300}}}).encode()
    p = parse(body, BodyKind.JSON)
    assert p.structure is not None
    assert [s.location for s in p.segments] == ["$.result.structuredContent.long", "$<structure>"]
    assert p.segments[0].context == "structuredContent long"
    structure = p.segments[p.structure].text
    assert "\n\x00 ssn: 536228145" in structure and "\n\x00 note: short" in structure
    assert "\n\x00 structuredContent" in structure  # keys too
    detailed = p.expanded()
    assert detailed.structure is None and len(detailed.segments) == 12  # 7 keys, 5 values
    assert detailed.expanded() is detailed


def test_percent_tokens_that_are_not_utf8_are_still_inspected_not_a_gap() -> None:
    """A %xx token whose bytes are not UTF-8 (a cut Hangul sequence) once raised
    UnicodeDecodeError: the whole message became an undecodable gap, blocked by default."""
    from icap_dlp.content._encoded import _decode_percent

    decoded = _decode_percent("%ED%95%9Ckey%3DAKIAIOSFODNN7EXAMPLE%ED%95")
    assert decoded is not None and "key=AKIAIOSFODNN7EXAMPLE" in decoded[0]


_ND_LINE = st.one_of(
    st.just(""),  # a blank line: no segment
    st.just("   "),
    st.text(alphabet="abc xyz", min_size=1, max_size=8).filter(lambda s: s.strip() and s.strip()[0] not in "{["),
    st.dictionaries(st.sampled_from(["a", "b", "email"]), st.text(alphabet="pqr@.", max_size=6), max_size=3)
    .map(lambda d: json.dumps(d, separators=(",", ":"))),
    st.just("{not json"),
)


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(_ND_LINE, min_size=1, max_size=30), data=st.data())
def test_ndjson_render_rewrites_exactly_the_lines_holding_a_changed_segment(lines: list[str], data: st.DataObject
                                                                           ) -> None:
    body = "\n".join(lines).encode()
    p = parse(body, BodyKind.NDJSON).expanded()
    changeable = [i for i, _, _ in values(p)]
    chosen = data.draw(st.sets(st.sampled_from(changeable)) if changeable else st.just(set()))
    out = p.render({i: "#" for i in chosen}).decode().split("\n")
    assert len(out) == len(lines)
    touched = {int(p.segments[i].location.split("]")[0].removeprefix("line[")) for i in chosen}
    for n, (before, after) in enumerate(zip(lines, out, strict=True)):
        if n not in touched:
            assert after == before  # byte-exact
        elif before.startswith("{") and not before.startswith("{not"):
            assert "#" in json.loads(after).values()
        else:
            assert after == "#"


# -- a cap on the values and keys walked (memory and time per body bounded) --------------------

CAP = ContentLimits(max_leaves=1000)


def _walked(p: ParsedBody) -> int:
    return len(p.segments) + sum(s.text.count("\x1f") for s in p.segments if s.location == "$<structure>")


@pytest.mark.parametrize("shape", ["array", "object", "nested", "string-json"])
def test_a_document_past_the_leaf_cap_is_walked_to_the_cap_and_the_rest_is_a_gap(shape: str) -> None:
    # 1,500 to 1,800 values and keys: over the cap, under twice it (which is not even parsed,
    # see the next tests)
    doc: object = {
        "array": list(range(1_500)),
        "object": {f"k{i}": i for i in range(900)},
        "nested": {"rows": [{"id": i, "mail": f"u{i}@example.com"} for i in range(450)]},
        "string-json": {"text": json.dumps([{"id": i} for i in range(900)])},
    }[shape]
    body = json.dumps(doc).encode()
    for p in (parse(body, BodyKind.JSON, limits=CAP), parse(body, BodyKind.JSON, limits=CAP).expanded()):
        assert [g.reason for g in p.gaps] == ["oversize"], p.gaps
        assert len(p.segments) <= 1010, len(p.segments)  # bounded by the cap, not by the body
        assert p.render({}) == body  # nothing walked is changed; nothing unwalked is lost
    whole = parse(body, BodyKind.JSON).expanded()
    assert whole.gaps == [] and len(whole.segments) > 1_400


def test_a_redaction_in_the_walked_part_keeps_the_rest_of_a_capped_document() -> None:
    rows = [{"id": i, "mail": f"u{i}@example.com"} for i in range(450)]
    body = json.dumps({"rows": rows}).encode()
    p = parse(body, BodyKind.JSON, limits=CAP).expanded()
    assert [g.reason for g in p.gaps] == ["oversize"]
    (i,) = [k for k, s in enumerate(p.segments) if s.text == "u0@example.com"]
    out = json.loads(p.render({i: "[EMAIL]"}))
    assert out["rows"][0]["mail"] == "[EMAIL]" and out["rows"][1:] == rows[1:]


def test_ndjson_past_the_leaf_cap_keeps_its_unwalked_lines_byte_exact() -> None:
    lines = [json.dumps({"id": i, "mail": f"u{i}@example.com"}, separators=(", ", ": ")) for i in range(2_000)]
    body = "\n".join(lines).encode()
    p = parse(body, BodyKind.NDJSON, limits=CAP).expanded()
    assert [g.reason for g in p.gaps] == ["oversize"] and p.gaps[0].location.startswith("line[")
    assert len(p.segments) <= 1010
    (i,) = [k for k, s in enumerate(p.segments) if s.text == "u0@example.com"]
    out = p.render({i: "[EMAIL]"}).decode().split("\n")
    assert json.loads(out[0])["mail"] == "[EMAIL]" and out[1:] == lines[1:]


def test_a_form_and_multipart_parts_share_the_leaf_cap() -> None:
    form = "&".join(f"f{i}=v{i}" for i in range(5_000)).encode()
    p = parse(form, BodyKind.FORM, limits=CAP)
    assert len(p.segments) == 1000 and [g.reason for g in p.gaps] == ["oversize"]
    assert p.render({}) == form
    part = json.dumps(list(range(600))).encode()
    mp = b"".join(b"--b\r\nContent-Type: application/json\r\n\r\n" + part + b"\r\n" for _ in range(3)) + b"--b--\r\n"
    m = parse(mp, BodyKind.MULTIPART, limits=CAP, content_type="multipart/mixed; boundary=b")
    # the first part's 600 values, 400 of the second (the rest of the cap); the third, with no
    # room left, is not parsed: its text is one segment
    assert len(m.segments) == 1001 and m.segments[-1].location == "part[2]:body"
    assert [(g.reason, g.location) for g in m.gaps] == [("oversize", "part[1]:$[400]"), ("oversize", "part[2]:$")]
    assert m.render({}) == mp


def test_a_document_with_far_more_values_than_the_cap_is_not_parsed_but_inspected_as_text() -> None:
    # 16 MiB of small objects is 0.5 GB of Python objects once parsed: the cap on the walk comes
    # too late. Counted first (commas and colons outside strings), such a body is inspected as
    # the text it is, and its structure is a gap.
    import tracemalloc

    limits = ContentLimits(max_leaves=10_000)
    rows = [{"id": i, "mail": f"u{i}@example.com"} for i in range(30_000)]  # 120,000 values and keys
    body = json.dumps(rows).encode()
    p = parse(body, BodyKind.JSON, limits=limits)
    assert [(g.reason, g.location) for g in p.gaps] == [("oversize", "$")]
    assert [s.location for s in p.segments] == ["body"] and p.segments[0].text == body.decode()
    assert json.loads(p.render({0: p.segments[0].text.replace("u0@example.com", "[EMAIL]")}))[0]["mail"] == "[EMAIL]"

    def peak(fn: Callable[[], object]) -> int:
        tracemalloc.start()
        try:
            fn()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    dense = json.dumps([{"a": 1}] * 40_000).encode()  # the shape that costs most per byte parsed
    unbounded = ContentLimits(max_leaves=10**9)
    parsed = peak(lambda: parse(dense, BodyKind.JSON, limits=unbounded))
    counted = peak(lambda: parse(dense, BodyKind.JSON, limits=limits))
    assert counted * 3 < parsed, (counted, parsed)  # no parse tree: a third of its memory at most
    # Twice the cap is counted, not the cap itself: a body a little over it is parsed and walked
    # to the cap, one with long strings (commas inside them do not count) is parsed whole.
    near = json.dumps(rows[:3_000]).encode()  # 12,000: over the cap, under twice it
    q = parse(near, BodyKind.JSON, limits=limits)
    assert [g.reason for g in q.gaps] == ["oversize"] and q.segments[-1].location == "$<structure>"
    prose = json.dumps([{"text": "a, b: c, " * 5_000} for _ in range(10)]).encode()
    assert parse(prose, BodyKind.JSON, limits=limits).gaps == []


def test_json_inside_a_string_with_far_more_values_than_the_cap_is_a_gap_there() -> None:
    limits = ContentLimits(max_leaves=10_000)
    inner = json.dumps([{"id": i, "mail": f"u{i}@example.com"} for i in range(30_000)])
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text": inner}]}}).encode()
    p = parse(body, BodyKind.JSON, limits=limits).expanded()
    assert [(g.reason, g.location) for g in p.gaps] == [("oversize", "$.result.content[0].text<json>")]
    (text,) = [s for s in p.segments if s.location == "$.result.content[0].text"]
    assert text.text == inner  # inspected as the text it is
