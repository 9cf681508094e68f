"""Sans-IO ICAP request parser (RFC 3507).

Feed it bytes with :meth:`IcapParser.feed`, pull events with :meth:`IcapParser.next_event` until it
returns :data:`NEED_DATA`. It never touches a socket or a clock, and every buffer it keeps is
bounded by :class:`Limits`: body bytes are handed out as they arrive, never accumulated.

After a :class:`PreviewComplete` event the parser waits for the server's decision:
:meth:`continue_after_preview` (the server sent ``100 Continue``) or :meth:`skip_rest_of_body`
(the server answered during the preview, so the client sends no more of this body).
"""

from __future__ import annotations

import enum
import itertools
import re
from dataclasses import dataclass
from typing import Final

from icap_dlp.errors import IcapProtocolError, LimitExceeded
from icap_dlp.icap._events import (
    BodyChunk,
    Encapsulated,
    EndOfMessage,
    Event,
    HttpRequestHead,
    HttpResponseHead,
    IcapRequest,
    Method,
    PreviewComplete,
)
from icap_dlp.icap._headers import Headers


class _NeedData:
    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = _NeedData()

# RFC 7230 token and hex digits, as compiled patterns: a per-character generator cost about 20 us
# per 4 KB request in header names alone.
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEX = re.compile(rb"[0-9a-fA-F]+")
# ASCII digits only (str.isdigit() accepts '²' and other Unicode digits that int() rejects), and
# a length cap: a 5,000-digit number trips Python's int-conversion limit (and means nothing here).
_DECIMAL = re.compile(r"[0-9]{1,9}")
_CTL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")
_ENCAP_ALLOWED = {
    Method.REQMOD: ({"req-hdr"}, {"req-body", "null-body"}),
    Method.RESPMOD: ({"req-hdr", "res-hdr"}, {"res-body", "null-body"}),
    Method.OPTIONS: (set(), {"opt-body", "null-body"}),
}
_HDR_ORDER = ("req-hdr", "res-hdr")


@dataclass(frozen=True, slots=True)
class Limits:
    """Parser bounds. Every one is a configurable setting and has a test."""

    max_request_line: int = 8192
    max_icap_header_bytes: int = 65536
    max_header_fields: int = 128
    max_http_header_bytes: int = 65536
    max_chunk_size_line: int = 1024
    max_trailer_bytes: int = 8192
    max_chunk_size: int = 1 << 40


class _State(enum.Enum):
    IDLE = "idle"
    ICAP_HEAD = "icap_head"
    HTTP_HEADS = "http_heads"
    CHUNK_SIZE = "chunk_size"
    CHUNK_DATA = "chunk_data"
    CHUNK_CRLF = "chunk_crlf"
    TRAILERS = "trailers"
    PREVIEW_WAIT = "preview_wait"
    ERROR = "error"


class IcapParser:
    """One parser per connection; handles keep-alive and pipelined requests in sequence."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._buf = bytearray()
        self._state = _State.IDLE
        self._request: IcapRequest | None = None
        self._http_len = 0
        self._chunk_left = 0
        self._in_preview = False
        self._preview_left = 0
        self._ieof = False
        self._pending: list[Event] = []

    # -- public API -------------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state.value

    @property
    def idle(self) -> bool:
        """True between requests (nothing of a next request has been parsed yet)."""
        return self._state is _State.IDLE

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> None:
        if self._state is _State.ERROR:
            raise IcapProtocolError("parser is in an error state; the connection must be closed")
        self._buf += data

    def next_event(self) -> Event | _NeedData:
        if self._pending:
            return self._pending.pop(0)
        try:
            return self._step()
        except IcapProtocolError:
            self._state = _State.ERROR
            raise

    def continue_after_preview(self) -> None:
        """The server sent ``100 Continue``: parse the rest of the body."""
        self._expect(_State.PREVIEW_WAIT)
        self._in_preview = False
        self._state = _State.CHUNK_SIZE

    def skip_rest_of_body(self) -> None:
        """The server answered during the preview: the client sends nothing more for this request."""
        self._expect(_State.PREVIEW_WAIT)
        self._reset()

    # -- internals --------------------------------------------------------------------------
    def _expect(self, state: _State) -> None:
        if self._state is not state:
            raise RuntimeError(f"parser is in state {self._state.value}, not {state.value}")

    def _reset(self) -> None:
        self._state = _State.IDLE
        self._request = None
        self._in_preview = False
        self._ieof = False

    def _step(self) -> Event | _NeedData:
        while True:
            st = self._state
            if st is _State.IDLE:
                # Tolerate stray CRLFs between pipelined requests (RFC 7230 3.5 robustness).
                while self._buf[:2] == b"\r\n":
                    del self._buf[:2]
                if not self._buf:
                    return NEED_DATA
                self._state = _State.ICAP_HEAD
            elif st is _State.ICAP_HEAD:
                ev = self._parse_icap_head()
                if ev is None:
                    return NEED_DATA
                if not isinstance(ev, bool):
                    return ev
            elif st is _State.HTTP_HEADS:
                if len(self._buf) < self._http_len:
                    return NEED_DATA
                return self._parse_http_heads()
            elif st is _State.CHUNK_SIZE:
                ev2 = self._parse_chunk_size()
                if ev2 is None:
                    return NEED_DATA
                if not isinstance(ev2, bool):
                    return ev2
            elif st is _State.CHUNK_DATA:
                if not self._buf:
                    return NEED_DATA
                n = min(self._chunk_left, len(self._buf))
                data = bytes(self._buf[:n])
                del self._buf[:n]
                self._chunk_left -= n
                if self._chunk_left == 0:
                    self._state = _State.CHUNK_CRLF
                return BodyChunk(data, self._in_preview)
            elif st is _State.CHUNK_CRLF:
                if len(self._buf) < 2:
                    return NEED_DATA
                if self._buf[:2] != b"\r\n":
                    raise IcapProtocolError("chunk data is not followed by CRLF")
                del self._buf[:2]
                self._state = _State.CHUNK_SIZE
            elif st is _State.TRAILERS:
                ev3 = self._parse_trailers()
                if ev3 is None:
                    return NEED_DATA
                return ev3
            elif st is _State.PREVIEW_WAIT:
                return NEED_DATA
            else:
                raise IcapProtocolError("parser is in an error state")

    def _take_line_block(self, limit: int, what: str) -> bytes | None:
        """Remove and return bytes up to and including the first CRLFCRLF, bounded by ``limit``."""
        idx = self._buf.find(b"\r\n\r\n", 0, limit + 4)
        if idx < 0:
            # Report an over-long first line precisely.
            if what == "ICAP header block":
                nl = self._buf.find(b"\r\n", 0, self.limits.max_request_line + 2)
                if nl < 0 and len(self._buf) > self.limits.max_request_line:
                    raise LimitExceeded("request line", self.limits.max_request_line)
            if len(self._buf) >= limit + 4:
                raise LimitExceeded(what, limit)
            return None
        block = bytes(self._buf[: idx + 4])
        del self._buf[: idx + 4]
        return block

    def _parse_icap_head(self) -> Event | bool | None:
        block = self._take_line_block(self.limits.max_icap_header_bytes, "ICAP header block")
        if block is None:
            return None
        lines = block[:-4].split(b"\r\n")
        request_line = lines[0]
        if len(request_line) > self.limits.max_request_line:
            raise LimitExceeded("request line", self.limits.max_request_line)
        known = _REQUEST_LINES.get(request_line)
        if known is None:
            known = _request_line(request_line)
            if len(_REQUEST_LINES) < _MEMO_MAX:
                _REQUEST_LINES[request_line] = known
        method, uri, service, query = known
        headers = _parse_fields(lines[1:], self.limits.max_header_fields, "ICAP")
        encap = _parse_encapsulated(headers, method)
        preview: int | None = None
        raw_preview = headers.get("Preview")
        if raw_preview is not None and method is not Method.OPTIONS:
            if not _DECIMAL.fullmatch(raw_preview.strip()):
                raise IcapProtocolError(f"malformed Preview header {raw_preview[:20]!r}")
            preview = int(raw_preview.strip())
        req = IcapRequest(
            method=method, uri=uri, service=service, query=query, version="ICAP/1.0",
            headers=headers, encapsulated=encap, preview=preview,
        )
        self._request = req
        http_len = _header_sections_length(encap)
        if http_len > self.limits.max_http_header_bytes:
            raise LimitExceeded("encapsulated HTTP header block", self.limits.max_http_header_bytes)
        if http_len:
            self._http_len = http_len
            self._state = _State.HTTP_HEADS
            return True
        return self._after_heads(req)

    def _parse_http_heads(self) -> Event:
        req = self._request
        assert req is not None
        raw = bytes(self._buf[: self._http_len])
        del self._buf[: self._http_len]
        http_req: HttpRequestHead | None = None
        http_res: HttpResponseHead | None = None
        entries = req.encapsulated.entries
        for i, (name, off) in enumerate(entries):
            if name not in _HDR_ORDER:
                continue
            end = entries[i + 1][1]
            section = raw[off:end]
            if not section.endswith(b"\r\n\r\n"):
                raise IcapProtocolError(
                    f"Encapsulated {name} section ({end - off} bytes) does not end with an empty line"
                )
            if section.find(b"\r\n\r\n") != len(section) - 4:
                raise IcapProtocolError(f"Encapsulated {name} offset does not match the header bytes")
            lines = section[:-4].split(b"\r\n")
            fields = _parse_fields(lines[1:], self.limits.max_header_fields, "HTTP")
            if name == "req-hdr":
                http_req = _parse_http_request_line(lines[0], fields)
            else:
                http_res = _parse_http_status_line(lines[0], fields)
        req = IcapRequest(
            method=req.method, uri=req.uri, service=req.service, query=req.query, version=req.version,
            headers=req.headers, encapsulated=req.encapsulated, http_request=http_req,
            http_response=http_res, preview=req.preview,
        )
        self._request = req
        return self._after_heads(req)

    def _after_heads(self, req: IcapRequest) -> IcapRequest:
        if req.has_body:
            self._in_preview = req.preview is not None
            self._preview_left = req.preview or 0
            self._state = _State.CHUNK_SIZE
        else:
            self._reset()
        return req

    def _parse_chunk_size(self) -> Event | bool | None:
        limit = self.limits.max_chunk_size_line
        nl = self._buf.find(b"\r\n", 0, limit + 2)
        if nl < 0:
            if len(self._buf) > limit:
                raise LimitExceeded("chunk-size line", limit)
            return None
        line = bytes(self._buf[:nl])
        del self._buf[: nl + 2]
        size_part, _, ext = line.partition(b";")
        size_part = size_part.strip(b" \t")
        if len(size_part) > 16 or not _HEX.fullmatch(size_part):
            raise IcapProtocolError(f"malformed chunk size {line[:40]!r}")
        size = int(size_part, 16)
        if size > self.limits.max_chunk_size:
            raise LimitExceeded("chunk", self.limits.max_chunk_size)
        exts = [e.strip(b" \t").lower() for e in ext.split(b";")] if ext else []
        if size == 0:
            self._ieof = b"ieof" in exts
            if self._ieof and not self._in_preview:
                raise IcapProtocolError("ieof outside a preview")
            self._state = _State.TRAILERS
            return True
        if self._in_preview:
            if size > self._preview_left:
                raise IcapProtocolError("client sent more preview bytes than its Preview header announced")
            self._preview_left -= size
        self._chunk_left = size
        self._state = _State.CHUNK_DATA
        return True

    def _parse_trailers(self) -> Event | None:
        if self._buf[:2] == b"\r\n":
            del self._buf[:2]
            trailers = Headers()
        else:
            block = self._take_line_block(self.limits.max_trailer_bytes, "trailer block")
            if block is None:
                return None
            trailers = _parse_fields(block[:-4].split(b"\r\n"), self.limits.max_header_fields, "trailer")
        if self._in_preview and not self._ieof:
            self._state = _State.PREVIEW_WAIT
            return PreviewComplete()
        ieof = self._ieof
        self._reset()
        return EndOfMessage(trailers, ieof)


def _request_line(request_line: bytes) -> tuple[Method, str, str, str]:
    """``METHOD URI ICAP/1.0`` -> (method, uri, service, query), or IcapProtocolError."""
    parts = request_line.split(b" ")
    if len(parts) != 3 or not all(parts):
        raise IcapProtocolError(f"malformed request line {request_line[:80]!r}")
    raw_method, raw_uri, raw_version = parts
    if not raw_version.startswith(b"ICAP/"):
        raise IcapProtocolError(f"malformed protocol version {raw_version[:20]!r}")
    if raw_version != b"ICAP/1.0":
        raise IcapProtocolError(f"unsupported ICAP version {raw_version[:20]!r}", 505)
    if not _TOKEN.fullmatch(raw_method):
        raise IcapProtocolError("malformed method")
    try:
        method = Method(raw_method.decode("ascii"))
    except ValueError:
        raise IcapProtocolError(f"method {raw_method[:20]!r} not implemented", 501) from None
    uri = raw_uri.decode("latin-1")
    service, query = _service_from_uri(uri)
    return method, uri, service, query


def _service_from_uri(uri: str) -> tuple[str, str]:
    if uri.startswith("/"):
        path = uri
    else:
        scheme, sep, rest = uri.partition("://")
        if not sep or scheme.lower() not in ("icap", "icaps"):
            raise IcapProtocolError(f"malformed ICAP URI {uri[:80]!r}")
        slash = rest.find("/")
        path = rest[slash:] if slash >= 0 else "/"
    path, _, query = path.partition("?")
    service = path.strip("/")
    if _CTL_OR_SPACE.search(service):
        raise IcapProtocolError("malformed service name")
    return service, query


# Memos of what every request repeats: valid header names (checked and decoded once) and parsed
# Encapsulated values. Only valid input is remembered, and each memo is bounded: hostile traffic
# of ever-new names fills it once and then simply pays the full check.
_MEMO_MAX = 1024
_NAMES: dict[bytes, str] = {}
_ENCAPS: dict[tuple[Method, str], Encapsulated] = {}
_REQUEST_LINES: dict[bytes, tuple[Method, str, str, str]] = {}  # valid request lines, parsed


def _parse_fields(lines: list[bytes], max_fields: int, what: str) -> Headers:
    items: list[tuple[str, str]] = []
    names = _NAMES
    for raw in lines:
        if raw[:1] in (b" ", b"\t"):
            if not items:
                raise IcapProtocolError(f"{what} header block starts with a continuation line")
            k, v = items[-1]
            items[-1] = (k, (v + " " + raw.strip(b" \t").decode("latin-1")).strip())
            continue
        name, sep, value = raw.partition(b":")
        key = names.get(name)
        if key is None:
            if not sep or not _TOKEN.fullmatch(name):
                raise IcapProtocolError(f"malformed {what} header line {raw[:60]!r}")
            key = name.decode("ascii")
            if len(names) < _MEMO_MAX:
                names[name] = key
        items.append((key, value.strip(b" \t").decode("latin-1")))
        if len(items) > max_fields:
            raise IcapProtocolError(f"more than {max_fields} {what} header fields")
    return Headers(items)


def _parse_encapsulated(headers: Headers, method: Method) -> Encapsulated:
    values = headers.get_all("Encapsulated")
    if not values:
        if method is Method.OPTIONS:
            return Encapsulated(())
        raise IcapProtocolError("missing Encapsulated header")
    if len(values) > 1:
        raise IcapProtocolError("more than one Encapsulated header")
    encap = _ENCAPS.get((method, values[0]))
    if encap is None:
        encap = _check_encapsulated(values[0], method)
        if len(_ENCAPS) < _MEMO_MAX:
            _ENCAPS[(method, values[0])] = encap
    return encap


def _check_encapsulated(value: str, method: Method) -> Encapsulated:
    hdr_allowed, body_allowed = _ENCAP_ALLOWED[method]
    entries: list[tuple[str, int]] = []
    for item in value.split(","):
        name, sep, off = item.strip().partition("=")
        name = name.strip().lower()
        off = off.strip()
        if not sep or not _DECIMAL.fullmatch(off):
            raise IcapProtocolError(f"malformed Encapsulated entry {item.strip()[:40]!r}")
        if name not in hdr_allowed and name not in body_allowed:
            raise IcapProtocolError(f"Encapsulated entity {name!r} not allowed in {method.value}")
        if any(n == name for n, _ in entries):
            raise IcapProtocolError(f"Encapsulated entity {name!r} repeated")
        entries.append((name, int(off)))
    if not entries:
        raise IcapProtocolError("empty Encapsulated header")
    if entries[0][1] != 0:
        raise IcapProtocolError("the first Encapsulated offset must be 0")
    for (n1, o1), (n2, o2) in itertools.pairwise(entries):
        if o2 <= o1 and not (n2 == "null-body" and o2 == o1 == 0):
            raise IcapProtocolError("Encapsulated offsets must be ascending")
        if n1 in body_allowed:
            raise IcapProtocolError("the body entity must be the last Encapsulated entry")
    names = [n for n, _ in entries]
    if names[-1] not in body_allowed:
        raise IcapProtocolError("Encapsulated must end with a body entity (or null-body)")
    hdr_names = [n for n in names if n in _HDR_ORDER]
    if hdr_names != sorted(hdr_names, key=_HDR_ORDER.index):
        raise IcapProtocolError("Encapsulated req-hdr must come before res-hdr")
    if method is Method.REQMOD and "req-hdr" not in names:
        raise IcapProtocolError("REQMOD needs an encapsulated req-hdr")
    return Encapsulated(tuple(entries))


def _header_sections_length(encap: Encapsulated) -> int:
    names = [n for n, _ in encap.entries]
    if not any(n in _HDR_ORDER for n in names):
        return 0
    return encap.entries[-1][1]


def _parse_http_request_line(line: bytes, headers: Headers) -> HttpRequestHead:
    parts = line.split(b" ")
    if len(parts) != 3 or not all(parts) or not parts[2].startswith(b"HTTP/"):
        raise IcapProtocolError(f"malformed encapsulated HTTP request line {line[:80]!r}")
    return HttpRequestHead(
        parts[0].decode("latin-1"), parts[1].decode("latin-1"), parts[2].decode("latin-1"), headers
    )


def _parse_http_status_line(line: bytes, headers: Headers) -> HttpResponseHead:
    version, _, rest = line.partition(b" ")
    code, _, reason = rest.partition(b" ")
    if not version.startswith(b"HTTP/") or len(code) != 3 or not code.isdigit():
        raise IcapProtocolError(f"malformed encapsulated HTTP status line {line[:80]!r}")
    return HttpResponseHead(version.decode("latin-1"), int(code), reason.decode("latin-1"), headers)
