"""Values whose only trick is their form, sent through the real server with the default policy.

Each test is one form from issue 12 ("Nothing passes uninspected"): before that change, each came
back as *allow*, unchanged.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from typing import Any

import brotli
import pytest

from icap_dlp.client import IcapClient, IcapResponse
from tests.conftest import ServerProc, start_server

CARD = "4111 1111 1111 1111"
AWS = "AKIAIOSFODNN7EXAMPLE"
EMAIL = "alice@example.com"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    s = start_server(tmp_path_factory.mktemp("forms"), "--workers", "1")
    yield s
    s.stop()


def rpc(text: str, rpc_id: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rpc_id, "result": {"content": [{"type": "text", "text": text}]}}


def respmod(srv: ServerProc, body: bytes, **kw: Any) -> IcapResponse:
    with IcapClient("127.0.0.1", srv.port) as c:
        return c.respmod(body, **kw)


def redacted(r: IcapResponse, *values: str) -> bytes:
    assert r.status == 200 and r.headers.get("X-DLP-Decision") == "redact", (r.status, r.headers)
    out = r.body or b""
    for v in values:
        assert v.encode() not in out
    return out


# -- Content-Encoding ------------------------------------------------------------------------

def test_ndjson_in_two_gzip_members(srv: ServerProc) -> None:
    first = gzip.compress(json.dumps({"msg": "hello"}).encode() + b"\n")
    second = gzip.compress(json.dumps({"msg": f"key {AWS}"}).encode() + b"\n")
    r = respmod(srv, first + second, content_type="application/x-ndjson",
                extra_response_headers={"Content-Encoding": "gzip"})
    out = redacted(r, AWS)
    assert [json.loads(line) for line in out.splitlines()] == [{"msg": "hello"}, {"msg": "key [AWS_ACCESS_KEY_ID]"}]
    assert r.http_response is not None and r.http_response.headers.get("Content-Encoding") is None


@pytest.mark.parametrize("coding", ["deflate-zlib", "deflate-raw", "br", "gzip, br"])
def test_every_content_coding(srv: ServerProc, coding: str) -> None:
    body = json.dumps(rpc(f"card {CARD}")).encode()
    if coding == "deflate-zlib":
        data, header = zlib.compress(body), "deflate"
    elif coding == "deflate-raw":
        c = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        data, header = c.compress(body) + c.flush(), "deflate"
    elif coding == "br":
        data, header = brotli.compress(body), "br"
    else:
        data, header = brotli.compress(gzip.compress(body)), coding
    r = respmod(srv, data, extra_response_headers={"Content-Encoding": header})
    redacted(r, CARD)


def test_trailing_garbage_after_gzip_is_a_gap(srv: ServerProc) -> None:
    body = gzip.compress(json.dumps(rpc("hello")).encode()) + f"card {CARD}".encode()
    r = respmod(srv, body, extra_response_headers={"Content-Encoding": "gzip"})
    assert r.status == 200 and r.headers.get("X-DLP-Failure") == "undecodable:closed", r.headers
    assert CARD.encode() not in (r.body or b"")
    assert json.loads(r.body or b"")["error"]["code"] == -32001  # the MCP client gets an error for id 1
    assert json.loads(r.body or b"")["id"] == 1


# -- Unicode ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "hidden"), [
    ("card 4111\u200b1111\u200b1111\u200b1111", "1111\u200b1111\u200b1111"),  # zero-width spaces
    ("mail alice\u200b@\u200bexample.com", "alice"),  # around the @
    ("card \uff14\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11",
     "\uff14\uff11\uff11\uff11"),  # full-width digits
    ("card 4111\u00a01111\u00a01111\u00a01111", "4111\u00a0"),  # no-break spaces
    ("key AKIA\u00adIOSFODNN7EXAMPLE", "IOSFODNN7"),  # soft hyphen
    ("key \u0410KIAIOSFODNN7EXAMPLE", "IOSFODNN7"),  # Cyrillic A
    ("ssn \u0665\u0663\u0666-\u0662\u0662-\u0668\u0661\u0664\u0665", "\u0665\u0663\u0666"),  # Arabic-Indic digits
])
def test_unicode_disguises_are_redacted_invisible_characters_included(srv: ServerProc, text: str, hidden: str) -> None:
    body = json.dumps(rpc(text), ensure_ascii=False).encode()
    out = json.loads(redacted(respmod(srv, body), hidden))["result"]["content"][0]["text"]
    assert hidden not in out and "\u200b" not in out and "\u00ad" not in out and "\u00a0" not in out, out
    assert out.split(" ")[0] == text.split(" ")[0]  # the words around stay
