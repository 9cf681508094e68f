"""ICAP response serialisation and OPTIONS built from declared service capabilities."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.utils import formatdate

from icap_dlp.icap._events import HttpRequestHead, HttpResponseHead, Method
from icap_dlp.icap._headers import Headers

REASONS = {
    100: "Continue",
    200: "OK",
    204: "No Content",
    400: "Bad Request",
    404: "ICAP Service Not Found",
    405: "Method Not Allowed For Service",
    408: "Request Timeout",
    413: "Request Entity Too Large",
    500: "Server Error",
    501: "Method Not Implemented",
    503: "Service Overloaded",
    505: "ICAP Version Not Supported",
}

SERVER_NAME = "icap-dlp"


@dataclass(frozen=True, slots=True)
class ServiceCapabilities:
    """What one ICAP service declares once; OPTIONS is built from it (c-icap style)."""

    name: str
    methods: tuple[Method, ...]
    description: str = "icap-dlp data-loss prevention"
    preview: int | None = 1024
    allow_204: bool = True
    options_ttl: int = 300
    max_connections: int | None = None
    transfer_preview: tuple[str, ...] = ("*",)
    transfer_ignore: tuple[str, ...] = ()
    transfer_complete: tuple[str, ...] = ()
    extra_headers: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def _status_line(status: int) -> bytes:
    return f"ICAP/1.0 {status} {REASONS.get(status, 'Unknown')}\r\n".encode("ascii")


@functools.lru_cache(maxsize=1)
def _date_of(second: int) -> str:
    return formatdate(second, usegmt=True)


def http_date() -> str:
    """RFC 7231 date of the current second (formatted once per second)."""
    return _date_of(int(time.time()))


def _common(istag: str | None, close: bool, extra: Iterable[tuple[str, str]]) -> Headers:
    h = Headers([("Server", SERVER_NAME)])
    if istag is not None:
        h.add("ISTag", f'"{istag}"')
    h.add("Date", http_date())
    h.add("Connection", "close" if close else "keep-alive")
    for k, v in extra:
        h.add(k, v)
    return h


def options_response(
    caps: ServiceCapabilities, istag: str, *, close: bool = False, max_connections: int | None = None
) -> bytes:
    h = _common(istag, close, ())
    h.add("Methods", ", ".join(m.value for m in caps.methods))
    h.add("Service", caps.description)
    h.add("Service-ID", caps.name)
    mc = caps.max_connections or max_connections
    if mc:
        h.add("Max-Connections", str(mc))
    h.add("Options-TTL", str(caps.options_ttl))
    if caps.allow_204:
        h.add("Allow", "204")
    if caps.preview is not None:
        h.add("Preview", str(caps.preview))
        if caps.transfer_preview:
            h.add("Transfer-Preview", ", ".join(caps.transfer_preview))
    if caps.transfer_ignore:
        h.add("Transfer-Ignore", ", ".join(caps.transfer_ignore))
    if caps.transfer_complete:
        h.add("Transfer-Complete", ", ".join(caps.transfer_complete))
    for k, v in caps.extra_headers:
        h.add(k, v)
    h.add("Encapsulated", "null-body=0")
    return _status_line(200) + h.encode() + b"\r\n"


def continue_response() -> bytes:
    return b"ICAP/1.0 100 Continue\r\n\r\n"


def no_content_response(istag: str, *, close: bool = False, extra: Iterable[tuple[str, str]] = ()) -> bytes:
    h = _common(istag, close, extra)
    h.add("Encapsulated", "null-body=0")
    return _status_line(204) + h.encode() + b"\r\n"


def error_response(
    status: int, istag: str | None = None, *, close: bool = True, extra: Iterable[tuple[str, str]] = ()
) -> bytes:
    h = _common(istag, close, extra)
    h.add("Encapsulated", "null-body=0")
    return _status_line(status) + h.encode() + b"\r\n"


def modified_head(
    istag: str,
    *,
    http_request: HttpRequestHead | None = None,
    http_response: HttpResponseHead | None = None,
    has_body: bool,
    close: bool = False,
    extra: Iterable[tuple[str, str]] = (),
) -> bytes:
    """``ICAP/1.0 200`` plus the encapsulated HTTP head(s); a chunked body follows if ``has_body``.

    REQMOD answers carry either a modified request (``req-hdr``) or a direct HTTP response
    (``res-hdr``, e.g. a block page); RESPMOD answers carry the response (``res-hdr``).
    """
    parts: list[tuple[str, bytes]] = []
    if http_request is not None:
        parts.append(("req-hdr", http_request.encode()))
    if http_response is not None:
        parts.append(("res-hdr", http_response.encode()))
    entries: list[str] = []
    offset = 0
    for name, raw in parts:
        entries.append(f"{name}={offset}")
        offset += len(raw)
    if has_body:
        entries.append(("res-body" if http_response is not None else "req-body") + f"={offset}")
    else:
        entries.append(f"null-body={offset}")
    h = _common(istag, close, extra)
    h.add("Encapsulated", ", ".join(entries))
    return _status_line(200) + h.encode() + b"\r\n" + b"".join(raw for _, raw in parts)


def chunk(data: bytes) -> bytes:
    if not data:
        return b""
    return b"%x\r\n%s\r\n" % (len(data), data)


LAST_CHUNK = b"0\r\n\r\n"
