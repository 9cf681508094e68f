"""Sans-IO parser: every message whole, one byte at a time, and with trailing pipelined data."""

from __future__ import annotations

from pathlib import Path

import pytest

from icap_dlp.errors import IcapProtocolError, LimitExceeded
from icap_dlp.icap import (
    NEED_DATA,
    BodyChunk,
    EndOfMessage,
    IcapParser,
    IcapRequest,
    Limits,
    Method,
    PreviewComplete,
)

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"


def run(data: bytes, *, split: int | None = None, limits: Limits | None = None, cont: bool = True) -> list[object]:
    """Feed ``data`` (whole, or in pieces of ``split`` bytes) and collect events, merging body data."""
    p = IcapParser(limits)
    events: list[object] = []
    pieces = [data] if split is None else [data[i:i + split] for i in range(0, len(data), split)]
    for piece in pieces:
        p.feed(piece)
        while True:
            ev = p.next_event()
            if ev is NEED_DATA:
                break
            if isinstance(ev, BodyChunk) and events and isinstance(events[-1], BodyChunk) \
                    and events[-1].in_preview == ev.in_preview:
                events[-1] = BodyChunk(events[-1].data + ev.data, ev.in_preview)
            else:
                events.append(ev)
            if isinstance(ev, PreviewComplete):
                if cont:
                    p.continue_after_preview()
                else:
                    p.skip_rest_of_body()
    return events


def same_every_way(data: bytes, **kw: object) -> list[object]:
    whole = run(data, **kw)  # type: ignore[arg-type]
    assert run(data, split=1, **kw) == whole  # type: ignore[arg-type]
    assert run(data, split=7, **kw) == whole  # type: ignore[arg-type]
    return whole


def kinds(events: list[object]) -> list[str]:
    return [type(e).__name__ for e in events]


REQMOD_GET = (
    b"REQMOD icap://127.0.0.1:1344/reqmod ICAP/1.0\r\nHost: 127.0.0.1\r\n"
    b"Encapsulated: req-hdr=0, null-body=46\r\nPreview: 0\r\nAllow: 204, trailers\r\n\r\n"
    b"GET http://x.test/a HTTP/1.1\r\nHost: x.test\r\n\r\n"
)
RES_HDR = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
REQ_HDR = b"GET /a HTTP/1.1\r\nHost: x.test\r\n\r\n"


def respmod(body_chunks: bytes, *, preview: str | None = None, extra: bytes = b"") -> bytes:
    h = (b"RESPMOD /respmod ICAP/1.0\r\nHost: x\r\nEncapsulated: req-hdr=0, res-hdr=%d, res-body=%d\r\n"
         % (len(REQ_HDR), len(REQ_HDR) + len(RES_HDR)))
    if preview is not None:
        h += b"Preview: " + preview.encode() + b"\r\n"
    return h + extra + b"\r\n" + REQ_HDR + RES_HDR + body_chunks


def test_reqmod_null_body_with_preview_zero() -> None:
    ev = same_every_way(REQMOD_GET)
    assert kinds(ev) == ["IcapRequest"]
    req = ev[0]
    assert isinstance(req, IcapRequest)
    assert req.method is Method.REQMOD and req.service == "reqmod" and not req.has_body
    assert req.http_request is not None and req.http_request.target == "http://x.test/a"
    assert req.allow_204 and req.preview == 0


def test_respmod_with_chunk_extensions_and_trailers() -> None:
    body = b"5;name=v\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n"
    ev = same_every_way(respmod(body))
    assert kinds(ev) == ["IcapRequest", "BodyChunk", "EndOfMessage"]
    assert ev[1] == BodyChunk(b"hello world", False)
    end = ev[2]
    assert isinstance(end, EndOfMessage) and end.trailers.get("x-trailer") == "yes" and not end.ieof
    req = ev[0]
    assert isinstance(req, IcapRequest)
    assert req.http_response is not None and req.http_response.status == 200
    assert req.http_response.headers.get("content-type") == "application/json"


def test_preview_with_ieof_is_the_whole_body() -> None:
    ev = same_every_way(respmod(b"b\r\nhello world\r\n0; ieof\r\n\r\n", preview="11"))
    assert kinds(ev) == ["IcapRequest", "BodyChunk", "EndOfMessage"]
    assert ev[1] == BodyChunk(b"hello world", True)
    assert isinstance(ev[2], EndOfMessage) and ev[2].ieof


def test_preview_then_continue() -> None:
    data = respmod(b"4\r\nhell\r\n0\r\n\r\n7\r\no world\r\n0\r\n\r\n", preview="4")
    ev = same_every_way(data)
    assert kinds(ev) == ["IcapRequest", "BodyChunk", "PreviewComplete", "BodyChunk", "EndOfMessage"]
    assert ev[1] == BodyChunk(b"hell", True) and ev[3] == BodyChunk(b"o world", False)


def test_skip_rest_of_body_after_preview_then_next_pipelined_request() -> None:
    data = respmod(b"4\r\nhell\r\n0\r\n\r\n", preview="4") + REQMOD_GET
    ev = same_every_way(data, cont=False)
    assert kinds(ev) == ["IcapRequest", "BodyChunk", "PreviewComplete", "IcapRequest"]


def test_pipelined_requests_and_trailing_data() -> None:
    one = respmod(b"3\r\nabc\r\n0\r\n\r\n")
    ev = same_every_way(one + one + REQMOD_GET)
    assert kinds(ev) == ["IcapRequest", "BodyChunk", "EndOfMessage"] * 2 + ["IcapRequest"]


def test_options_without_encapsulated_as_squid_sends_it() -> None:
    ev = same_every_way(b"OPTIONS icap://127.0.0.1:13450/reqmod ICAP/1.0\r\nHost: 127.0.0.1:13450\r\n"
                        b"Allow: 206, trailers\r\n\r\n")
    assert isinstance(ev[0], IcapRequest) and ev[0].method is Method.OPTIONS and ev[0].service == "reqmod"


@pytest.mark.parametrize(("uri", "service", "query"), [
    ("icap://h:1344/respmod", "respmod", ""), ("icap://h/respmod?mode=x", "respmod", "mode=x"),
    ("/dlp", "dlp", ""), ("icap://h", "", ""),
])
def test_uri_forms(uri: str, service: str, query: str) -> None:
    ev = run(f"OPTIONS {uri} ICAP/1.0\r\nHost: h\r\n\r\n".encode())
    assert isinstance(ev[0], IcapRequest)
    assert (ev[0].service, ev[0].query) == (service, query)


def test_header_folding() -> None:
    ev = run(b"OPTIONS /x ICAP/1.0\r\nX-Long: a\r\n  b\r\n\r\n")
    assert isinstance(ev[0], IcapRequest) and ev[0].headers.get("X-Long") == "a b"


@pytest.mark.parametrize("name", sorted(p.name for p in CAPTURES.glob("stub-0*.bin")))
def test_squid_captures_parse(name: str) -> None:
    data = (CAPTURES / name).read_bytes()
    ev = same_every_way(data)
    req = ev[0]
    assert isinstance(req, IcapRequest)
    assert req.method.value in name
    assert isinstance(ev[-1], EndOfMessage) or not req.has_body
    body = b"".join(e.data for e in ev if isinstance(e, BodyChunk))
    if req.http_response is not None and req.http_response.headers.get("Content-Length"):
        assert len(body) == int(req.http_response.headers.get("Content-Length") or 0)


BAD = [
    (b"GARBAGE\r\n\r\n", 400, "request line"),
    (b"FOO /x ICAP/1.0\r\n\r\n", 501, "not implemented"),
    (b"OPTIONS /x ICAP/2.0\r\n\r\n", 505, "version"),
    (b"OPTIONS /x HTTP/1.1\r\n\r\n", 400, "protocol version"),
    (b"REQMOD /x ICAP/1.0\r\nHost: x\r\n\r\n", 400, "missing Encapsulated"),
    (b"REQMOD /x ICAP/1.0\r\nEncapsulated: req-hdr=zero\r\n\r\n", 400, "malformed Encapsulated"),
    (b"REQMOD /x ICAP/1.0\r\nEncapsulated: req-hdr=0, null-body=5\r\nEncapsulated: null-body=0\r\n\r\n", 400,
     "more than one"),
    (b"REQMOD /x ICAP/1.0\r\nEncapsulated: req-hdr=5, null-body=9\r\n\r\n", 400, "must be 0"),
    (b"REQMOD /x ICAP/1.0\r\nEncapsulated: req-body=0, req-hdr=5\r\n\r\n", 400, "last"),
    (b"RESPMOD /x ICAP/1.0\r\nEncapsulated: res-hdr=0, req-hdr=10, res-body=20\r\n\r\n", 400, "before"),
    (b"RESPMOD /x ICAP/1.0\r\nEncapsulated: res-hdr=0, res-hdr=5, null-body=9\r\n\r\n", 400, "repeated"),
    (b"REQMOD /x ICAP/1.0\r\nEncapsulated: res-hdr=0, null-body=9\r\n\r\n", 400, "not allowed"),
    (b"REQMOD /x ICAP/1.0\r\nEncapsulated: req-hdr=0, null-body=10\r\n\r\nGET / HTTP/1.1\r\n\r\nabcdef", 400,
     "does not end with an empty line"),
    (b"RESPMOD /x ICAP/1.0\r\nBad Header\r\n\r\n", 400, "malformed ICAP header"),
]


@pytest.mark.parametrize(("data", "status", "needle"), BAD)
def test_malformed_requests(data: bytes, status: int, needle: str) -> None:
    for split in (None, 1):
        with pytest.raises(IcapProtocolError) as info:
            run(data, split=split)
        assert info.value.status_hint == status
        assert needle in str(info.value)


@pytest.mark.parametrize(("body", "needle"), [
    (b"zz\r\nhello\r\n0\r\n\r\n", "malformed chunk size"),
    (b"-5\r\nhello\r\n0\r\n\r\n", "malformed chunk size"),
    (b"11111111111111111\r\n", "malformed chunk size"),
    (b"5\r\nhelloXX0\r\n\r\n", "not followed by CRLF"),
    (b"3\r\nabc\r\n0; ieof\r\n\r\n", "ieof outside a preview"),
])
def test_bad_chunks(body: bytes, needle: str) -> None:
    with pytest.raises(IcapProtocolError, match=needle):
        run(respmod(body))


def test_preview_longer_than_announced() -> None:
    with pytest.raises(IcapProtocolError, match="more preview bytes"):
        run(respmod(b"5\r\nhello\r\n0\r\n\r\n", preview="3"))


@pytest.mark.parametrize(("data", "limits", "what"), [
    (b"OPTIONS /" + b"a" * 200 + b" ICAP/1.0\r\n\r\n", Limits(max_request_line=100), "request line"),
    (b"OPTIONS /x ICAP/1.0\r\nX: " + b"a" * 400 + b"\r\n\r\n", Limits(max_icap_header_bytes=256),
     "ICAP header block"),
    (b"OPTIONS /x ICAP/1.0\r\n" + b"X: a\r\n" * 20 + b"\r\n", Limits(max_header_fields=10), "header fields"),
    (b"REQMOD /x ICAP/1.0\r\nEncapsulated: req-hdr=0, null-body=5000\r\n\r\n", Limits(max_http_header_bytes=4096),
     "HTTP header block"),
    (respmod(b"1" + b"0" * 2 + b";" + b"x" * 200 + b"\r\n"), Limits(max_chunk_size_line=64), "chunk-size line"),
    (respmod(b"0\r\n" + b"X: y\r\n" * 100 + b"\r\n"), Limits(max_trailer_bytes=128), "trailer block"),
])
def test_limits(data: bytes, limits: Limits, what: str) -> None:
    for split in (None, 3):
        with pytest.raises((LimitExceeded, IcapProtocolError), match=what):
            run(data, split=split, limits=limits)


def test_unterminated_head_needs_data_until_the_limit() -> None:
    p = IcapParser(Limits(max_icap_header_bytes=256))
    p.feed(b"OPTIONS /x ICAP/1.0\r\nHost: x\r\n")
    assert p.next_event() is NEED_DATA
    p.feed(b"X: " + b"a" * 300)
    with pytest.raises(LimitExceeded):
        p.next_event()


def test_error_state_is_sticky() -> None:
    p = IcapParser()
    p.feed(b"BAD\r\n\r\n")
    with pytest.raises(IcapProtocolError):
        p.next_event()
    with pytest.raises(IcapProtocolError):
        p.feed(b"OPTIONS /x ICAP/1.0\r\n\r\n")
