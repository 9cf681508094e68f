"""Values whose only trick is their form, sent through the real server with the default policy.

Each test is one form from issue 12 ("Nothing passes uninspected"): before that change, each came
back as *allow*, unchanged.
"""

from __future__ import annotations

import base64
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


# -- JSON shapes -----------------------------------------------------------------------------

ENV_FILE = "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\nDB_PASSWORD=hunter2hunter2\n"


def structured(payload: Any, rpc_id: int = 1) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": rpc_id, "result": {"structuredContent": payload}}).encode()


def _deep(levels: int, leaf: Any) -> Any:
    for _ in range(levels):
        leaf = {"k": leaf}
    return leaf


@pytest.mark.parametrize(("payload", "hidden", "expect"), [
    ({"card": 4111111111111111}, "4111111111111111", {"card": 1000000000001111}),
    ({"ssn": 536228145}, "536228145", {"ssn": 100000000}),
    ({"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}, "wJalrXUtnFEMI",
     {"SecretAccessKey": "[AWS_SECRET_ACCESS_KEY]"}),
    ({"client_secret": "9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c"}, "9f8a7b6c", None),
    ({"phone": "305.787.7211"}, "305.787.7211", {"phone": "[PHONE_NUMBER]"}),
    ({"type": "AKIAIOSFODNN7EXAMPLE"}, "AKIAIOSFODNN7EXAMPLE", {"type": "[AWS_ACCESS_KEY_ID]"}),
    ({"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": 1, "[GITHUB_TOKEN]": 2}, "ghp_wWPw5k4",
     {"[GITHUB_TOKEN]_2": 1, "[GITHUB_TOKEN]": 2}),  # a token used as a key; the new name is free
    (_deep(80, f"card {CARD}"), CARD, _deep(80, "card " + "*" * 15 + "1111")),
])
def test_json_shapes(srv: ServerProc, payload: Any, hidden: str, expect: Any) -> None:
    out = json.loads(redacted(respmod(srv, structured(payload)), hidden))
    assert out["id"] == 1 and out["jsonrpc"] == "2.0"
    if expect is not None:
        assert out["result"]["structuredContent"] == expect


@pytest.mark.parametrize(("item", "field"), [
    ({"type": "image", "mimeType": "image/png", "data": base64.b64encode(ENV_FILE.encode()).decode()}, "data"),
    ({"type": "resource", "resource": {"uri": "file:///.env", "mimeType": "application/octet-stream",
                                       "blob": base64.b64encode(ENV_FILE.encode()).decode()}}, "blob"),
    ({"type": "resource", "resource": {"uri": "file:///.env", "mimeType": "text/plain",
                                       "blob": base64.encodebytes(ENV_FILE.encode() * 4).decode()}}, "blob"),
])
def test_base64_text_in_media_and_blobs_is_redacted_and_reencoded(srv: ServerProc, item: dict[str, Any],
                                                                  field: str) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"content": [item]}}).encode()
    out = json.loads(redacted(respmod(srv, body)))
    got = out["result"]["content"][0]
    got = got.get("resource", got)
    text = base64.b64decode(got[field]).decode()  # still valid base64 (line-wrapped stays wrapped)
    assert "AKIAIOSFODNN7EXAMPLE" not in text and "AWS_ACCESS_KEY_ID=[AWS_ACCESS_KEY_ID]" in text
    assert ("\n" in got[field]) == ("\n" in (item.get("resource", item))[field])


def test_a_real_png_is_left_alone(srv: ServerProc) -> None:
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64 + b"AKIAIOSFODNN7EXAMPLE").decode()
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"content": [
        {"type": "image", "mimeType": "image/png", "data": png}]}}).encode()
    r = respmod(srv, body)
    assert r.status == 204 and r.headers.get("X-DLP-Decision") == "allow"


def test_a_finding_in_the_envelope_blocks(srv: ServerProc) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": "AKIAIOSFODNN7EXAMPLE", "result": {"content": []}}).encode()
    r = respmod(srv, body)
    assert r.status == 200 and r.headers.get("X-DLP-Decision") == "block", r.headers
    assert json.loads(r.body or b"")["error"]["code"] == -32001


def test_reqmod_tool_arguments_as_numbers_and_keys(srv: ServerProc) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {
        "name": "lookup",
        "arguments": {"ssn": 536228145, "filter": {"client_secret": "9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c"}}}}).encode()
    with IcapClient("127.0.0.1", srv.port) as c:
        r = c.reqmod(body)
    assert r.status == 200 and r.headers.get("X-DLP-Decision") == "redact", r.headers
    out = json.loads(r.body or b"")
    assert out["params"]["arguments"]["ssn"] == 100000000 and out["method"] == "tools/call" and out["id"] == 5
    assert "9f8a7b6c" not in json.dumps(out)


# -- declared types that lie -----------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40


@pytest.mark.parametrize("ctype", ["application/octet-stream", "application/x-json", "image/png", ""])
def test_a_jsonrpc_body_under_another_type_is_inspected(srv: ServerProc, ctype: str) -> None:
    body = json.dumps(rpc(f"key {AWS}")).encode()
    r = respmod(srv, body, content_type=ctype)
    # A declared type: streamed (the first bytes decide, the head went out first); none: buffered.
    assert r.status == 200 and r.http_response is not None
    assert (r.http_response.headers.get("Content-Length") is None) == bool(ctype)
    assert json.loads(r.body or b"")["result"]["content"][0]["text"] == "key [AWS_ACCESS_KEY_ID]"


def test_a_binary_under_a_generic_type_streams_on_unchanged(srv: ServerProc) -> None:
    r = respmod(srv, PNG, content_type="application/octet-stream")
    assert r.status == 200 and r.body == PNG and r.headers.get("X-DLP-Decision") != "block"


def test_multipart_upload_of_an_env_file_is_redacted_in_place(srv: ServerProc) -> None:
    body = (b"--b0undary\r\nContent-Disposition: form-data; name=\"comment\"\r\n\r\nsee attached\r\n"
            b"--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\".env\"\r\n"
            b"Content-Type: application/octet-stream\r\n\r\n" + ENV_FILE.encode() + b"\r\n"
            b"--b0undary\r\nContent-Disposition: form-data; name=\"img\"; filename=\"a.png\"\r\n"
            b"Content-Type: image/png\r\n\r\n" + PNG + b"\r\n--b0undary--\r\n")
    with IcapClient("127.0.0.1", srv.port) as c:
        r = c.reqmod(body, content_type="multipart/form-data; boundary=b0undary", url="http://tools.test/upload")
    out = redacted(r, "AKIAIOSFODNN7EXAMPLE")
    assert out.startswith(b"--b0undary\r\nContent-Disposition: form-data; name=\"comment\"\r\n\r\nsee attached\r\n")
    assert b"AWS_ACCESS_KEY_ID=[AWS_ACCESS_KEY_ID]\n" in out and PNG in out and out.endswith(b"--b0undary--\r\n")


def test_reqmod_query_string_is_inspected_and_blocks(srv: ServerProc) -> None:
    with IcapClient("127.0.0.1", srv.port) as c:
        r = c.reqmod(None, method="GET", url=f"http://tools.test/search?q=x&api_key={AWS}")
        assert r.status == 200 and r.headers.get("X-DLP-Decision") == "block", r.headers
        assert r.http_response is not None and r.http_response.status == 403
        clean = c.reqmod(None, method="GET", url="http://tools.test/search?q=weather")
        assert clean.status == 204


# -- encodings inside text -------------------------------------------------------------------

SENTENCE = "Please send the invoice to bob.smith@example.org before Friday."


@pytest.mark.parametrize(("text", "kept"), [
    ("config: " + base64.b64encode(ENV_FILE.encode()).decode() + " (base64)", "config: "),
    ("config: " + base64.urlsafe_b64encode(ENV_FILE.encode()).decode().rstrip("=") + " (unpadded)", "(unpadded)"),
    ("dump " + ENV_FILE.encode().hex(), "dump "),
    ("mail alice%40example.com please", " please"),
    ("mail alice&#64;example.com please", " please"),
])
def test_encoded_values_inside_text_redact_the_whole_token(srv: ServerProc, text: str, kept: str) -> None:
    out = json.loads(redacted(respmod(srv, json.dumps(rpc(text)).encode()), "alice"))
    new = out["result"]["content"][0]["text"]
    assert kept in new and "[" in new
    assert "AKIAIOSFODNN7EXAMPLE" not in new and "QUtJQ" not in new  # the token went whole


def test_base64_sentence_in_structured_content_is_redacted(srv: ServerProc) -> None:
    token = base64.b64encode(SENTENCE.encode()).decode()
    out = json.loads(redacted(respmod(srv, structured({"note": token, "other": "fine"})), token))
    assert out["result"]["structuredContent"] == {"note": "[EMAIL_ADDRESS]", "other": "fine"}


def test_ids_and_digests_are_left_alone(srv: ServerProc) -> None:
    text = ("request 9f86d081884c7d659a2feaa0c55ad015 trace 3b5d5c3712955042212316173ccf37be8a2d6fd8 "
            "image " + base64.b64encode(bytes(range(256))).decode())
    r = respmod(srv, json.dumps(rpc(text)).encode())
    assert r.status == 204 and r.headers.get("X-DLP-Decision") == "allow"
