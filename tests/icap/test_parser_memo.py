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
