"""JSON read and written by orjson where it gives json's values and bytes, json everywhere else.

The answers of the server are compared byte for byte: a redacted body must come back as json
wrote it before (floats as ``1e-05``, integers beyond 64 bits kept, lone surrogates escaped).
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icap_dlp.content import BodyKind, _parse, parse
from icap_dlp.content._parse import _COMPACT, _dumps, _loads, _RawNumber

# Any code point, lone surrogates and controls included (what a redacted value may hold).
_TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=12)
_INTS = st.one_of(st.integers(-(2**70), 2**70), st.sampled_from([2**63 - 1, -(2**63), 2**64 - 1, 2**64, -(2**63) - 1]))
_FLOATS = st.one_of(st.floats(allow_nan=False, allow_infinity=False),
                    st.sampled_from([1e16, 1e15, 1e-5, 1e-4, 0.1, -0.0, 5e-324, 1.7976931348623157e308]))


def _docs(leaf: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(leaf, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                     st.dictionaries(_TEXT, kids, max_size=4)), max_leaves=20)


def _view(body: bytes, kind: BodyKind) -> tuple[Any, ...]:
    """What inspection sees of a body and what a redaction of every string writes back."""
    p = parse(body, kind)
    e = p.expanded()

    def number(t: str) -> bool:
        try:
            float(t)
        except ValueError:
            return False
        return True

    changed = {i: s.text + "~" for i, s in enumerate(e.segments)
               if i not in e.fixed and not number(s.text) and "<" not in s.location}
    return ([(s.location, s.text) for s in p.segments], [(s.location, s.text) for s in e.segments],
            e.render(changed) if changed else b"", p.render({}))


_BODY_DOCS = _docs(st.one_of(st.none(), st.booleans(), _INTS, _FLOATS, _TEXT))


@settings(max_examples=300, deadline=None)
@given(st.lists(_BODY_DOCS, min_size=1, max_size=3), st.booleans(), st.booleans())
def test_bodies_read_and_written_as_with_json_alone(docs: list[Any], spaced: bool, nested: bool) -> None:
    """Every number (floats, integers beyond 64 bits), string and key: the same segments and
    the same redacted bytes with orjson as with the json module alone."""
    seps = (", ", ": ") if spaced else _COMPACT
    doc: Any = {"jsonrpc": "2.0", "id": 1, "result": {"docs": docs}}
    if nested:  # JSON inside a string is read and re-written too
        doc["result"]["inner"] = json.dumps(docs, separators=seps)
    body = json.dumps(doc, separators=seps).encode("utf-8", "surrogatepass")
    ndjson = b"\n".join(json.dumps(d).encode("utf-8", "surrogatepass") for d in docs)
    for b, kind in ((body, BodyKind.JSON), (ndjson, BodyKind.NDJSON)):
        fast = _view(b, kind)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(_parse, "orjson", None)
            assert _view(b, kind) == fast


@pytest.mark.parametrize("text", ["[123456789012345678901234567890]", "[-9223372036854775809]",
                                  "[18446744073709551616]", "[1e400]", "[NaN]", "[-Infinity]",
                                  '["\\ud800"]', '{"a":1,"a":2,"b":3}', "[-0]", "[1E2]", "[2.5,18446744073709551616]"])
def test_bodies_where_orjson_differs_or_refuses(text: str) -> None:
    body = ('{"jsonrpc":"2.0","id":1,"result":{"v":V,"s":"S"}}'.replace("V", text)
            .replace("S", json.dumps(text)[1:-1])).encode()
    fast = _view(body, BodyKind.JSON)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_parse, "orjson", None)
        assert _view(body, BodyKind.JSON) == fast


@pytest.mark.parametrize("text", ["[1,]", "{'a':1}", "[01]", "[1 2]", '["a\x01"]'])
def test_loads_rejects_what_json_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        _loads(text)


@settings(max_examples=400, deadline=None)
@given(_docs(st.one_of(st.none(), st.booleans(), _INTS, _TEXT,
                       st.integers(0, 10**30).map(lambda n: _RawNumber(str(n))))))
def test_exact_dumps_writes_json_bytes_for_float_free_documents(doc: Any) -> None:
    assert _dumps(doc, _COMPACT, exact=True) == _dumps(doc, _COMPACT, exact=False)


def test_orjson_would_write_floats_differently() -> None:
    """Why ``exact`` needs float-free documents: the check below would fail without it."""
    assert orjson.dumps([1e-05]) != json.dumps([1e-05]).encode()


def _redact_email(body: bytes) -> bytes:
    p = parse(body, BodyKind.JSON).expanded()
    i = next(i for i, s in enumerate(p.segments) if s.text == "alice@example.com")
    return p.render({i: "[EMAIL]"})


@pytest.mark.parametrize("number", ["1e-05", "1e+16", "0.1", "123456789012345678901234567890", "-0.0"])
def test_a_redacted_body_keeps_jsons_writing_of_its_other_numbers(number: str) -> None:
    body = ('{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"mail alice@example.com"}],'
            '"n":N,"deep":{"x":[N]},"s":"{\\"inner\\":N,\\"m\\":\\"alice@example.com\\"}"}}'
            ).replace("N", number).encode()
    p = parse(body, BodyKind.JSON).expanded()
    redacted = {i: s.text.replace("alice@example.com", "[EMAIL]") for i, s in enumerate(p.segments)
                if "alice@example.com" in s.text}
    assert len(redacted) == 2
    out = p.render(redacted)
    assert out == body.replace(b"alice@example.com", b"[EMAIL]")


def test_a_float_free_body_is_rendered_by_orjson_exactly() -> None:
    body = '{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"alice@example.com"}],"n":[1,-2,3]}}'
    assert parse(body.encode(), BodyKind.JSON).exact
    assert _redact_email(body.encode()) == body.replace("alice@example.com", "[EMAIL]").encode()
