"""The parser remembers valid header names and Encapsulated values (what every request repeats):
only valid ones, bounded, and the same answer as without the memo."""

from __future__ import annotations

import pytest

from icap_dlp.errors import IcapProtocolError
from icap_dlp.icap import NEED_DATA, IcapParser, IcapRequest, Method
from icap_dlp.icap import _parser as P

HEAD = (b"RESPMOD icap://127.0.0.1/respmod ICAP/1.0\r\nHost: x\r\n%s"
        b"Encapsulated: %s\r\n\r\n")


def first_event(data: bytes) -> object:
    p = IcapParser()
    p.feed(data)
    return p.next_event()


def test_invalid_names_and_encapsulated_values_are_never_remembered() -> None:
    for _ in range(2):  # the second time the valid parts come from the memo
        with pytest.raises(IcapProtocolError, match="malformed ICAP header line"):
            first_event(HEAD % (b"Bad Name: 1\r\n", b"null-body=0"))
        with pytest.raises(IcapProtocolError, match="not allowed"):
            first_event(HEAD % (b"", b"req-body=0"))
    assert b"Bad Name" not in P._NAMES
    assert (Method.RESPMOD, "req-body=0") not in P._ENCAPS
    # The same value is judged per method: valid for OPTIONS, not for RESPMOD.
    options = b"OPTIONS icap://127.0.0.1/respmod ICAP/1.0\r\nHost: x\r\nEncapsulated: opt-body=0\r\n\r\n"
    ev = first_event(options)
    assert isinstance(ev, IcapRequest) and ev.encapsulated.entries == (("opt-body", 0),)
    with pytest.raises(IcapProtocolError, match="not allowed"):
        first_event(HEAD % (b"", b"opt-body=0"))
    ev = first_event(HEAD % (b"", b"null-body=0"))
    assert isinstance(ev, IcapRequest) and ev.encapsulated.entries == (("null-body", 0),)


def test_memos_stay_bounded_under_ever_new_names() -> None:
    for i in range(P._MEMO_MAX + 200):
        ev = first_event(HEAD % (b"X-Name-%d: v\r\n" % i, b"null-body=0"))
        assert isinstance(ev, IcapRequest) and ev.headers.get(f"X-Name-{i}") == "v"
    assert len(P._NAMES) <= P._MEMO_MAX and len(P._ENCAPS) <= P._MEMO_MAX
    with pytest.raises(IcapProtocolError):  # still checked once the memo is full
        first_event(HEAD % (b"Bad(name): 1\r\n", b"null-body=0"))
    p = IcapParser()
    p.feed(b"")
    assert p.next_event() is NEED_DATA


def test_request_lines_memo_keeps_only_valid_lines_bounded_and_the_limit_per_parser() -> None:
    bad = [b"RESPMOD icap://127.0.0.1/respmod ICAP/1.1", b"BREW icap://127.0.0.1/respmod ICAP/1.0",
           b"RESPMOD icap://127.0.0.1/a b ICAP/1.0", b"RESPMOD ftp://127.0.0.1/respmod ICAP/1.0"]
    for _ in range(2):
        for line in bad:
            with pytest.raises(IcapProtocolError):
                first_event(line + b"\r\nHost: x\r\nEncapsulated: null-body=0\r\n\r\n")
    assert not any(line in P._REQUEST_LINES for line in bad)
    for i in range(P._MEMO_MAX + 200):  # ever-new services: each still parsed, the memo bounded
        ev = first_event(b"RESPMOD icap://127.0.0.1/svc%d?q=%d ICAP/1.0\r\nHost: x\r\n"
                         b"Encapsulated: null-body=0\r\n\r\n" % (i, i))
        assert isinstance(ev, IcapRequest) and (ev.service, ev.query) == (f"svc{i}", f"q={i}")
    assert len(P._REQUEST_LINES) <= P._MEMO_MAX
    # A remembered line is still held to each parser's own request-line limit.
    line = b"RESPMOD icap://127.0.0.1/respmod ICAP/1.0"
    assert line in P._REQUEST_LINES or len(P._REQUEST_LINES) == P._MEMO_MAX
    p = IcapParser(P.Limits(max_request_line=len(line) - 1))
    p.feed(line + b"\r\nHost: x\r\nEncapsulated: null-body=0\r\n\r\n")
    with pytest.raises(IcapProtocolError):
        p.next_event()
