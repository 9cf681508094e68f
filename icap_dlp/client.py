"""A small blocking ICAP client: keep-alive, preview with 100 Continue, Allow: 204.

Used by the test suite, the load tests (locust) and the bench script. It speaks to one server
over one persistent connection; it is not a general-purpose library.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from icap_dlp.icap import Headers

_CRLF = b"\r\n"


@dataclass
class HttpMessage:
    start_line: str
    headers: Headers

    @property
    def status(self) -> int | None:
        parts = self.start_line.split(" ", 2)
        if parts[0].startswith("HTTP/") and len(parts) > 1 and parts[1].isdigit():
            return int(parts[1])
        return None


@dataclass
class IcapResponse:
    status: int
    reason: str
    headers: Headers
    http_request: HttpMessage | None = None
    http_response: HttpMessage | None = None
    body: bytes | None = None
    raw_head: bytes = b""
    interim: list[int] = field(default_factory=list)

    @property
    def istag(self) -> str | None:
        return self.headers.get("ISTag")


class IcapClientError(Exception):
    pass


def _parse_fields(lines: list[bytes]) -> Headers:
    items = []
    for ln in lines:
        if not ln:
            continue
        k, _, v = ln.decode("latin-1").partition(":")
        items.append((k.strip(), v.strip()))
    return Headers(items)


def _http_head(raw: bytes) -> HttpMessage:
    lines = raw.rstrip(b"\r\n").split(_CRLF)
    return HttpMessage(lines[0].decode("latin-1"), _parse_fields(lines[1:]))


MCP_ACCEPT = "application/json, text/event-stream"  # what an MCP client's POST accepts


class IcapClient:
    """One persistent connection to ``icap://host:port``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 1344, timeout: float = 30.0, *,
                 tls: ssl.SSLContext | None = None, source: str | None = None) -> None:
        """``tls``: speak ICAPS with this client context (its certificate, if any, is sent);
        ``source``: bind the local end to this address (pick a loopback alias in tests)."""
        self.host = host
        self.port = port
        self.timeout = timeout
        self.tls = tls
        self.source = source
        self._sock: socket.socket | None = None
        self._buf = bytearray()
        self.connects = 0  # connections opened: a keep-alive test asserts it stays 1

    @classmethod
    def from_url(cls, url: str, timeout: float = 30.0) -> IcapClient:
        """``icap://host:port`` or ``icaps://host:port`` (verified against the system CAs)."""
        u = urlsplit(url)
        if u.scheme == "icaps":
            return cls(u.hostname or "127.0.0.1", u.port or 11344, timeout, tls=ssl.create_default_context())
        return cls(u.hostname or "127.0.0.1", u.port or 1344, timeout)

    # -- connection -------------------------------------------------------------------------
    def connect(self) -> None:
        if self._sock is None:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout,
                                            source_address=(self.source, 0) if self.source else None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tls is not None:
                try:
                    sock = self.tls.wrap_socket(sock, server_hostname=self.host)
                except (OSError, ssl.SSLError):
                    sock.close()
                    raise
            self._sock = sock
            self._buf.clear()
            self.connects += 1

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def __enter__(self) -> IcapClient:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send_raw(self, data: bytes) -> None:
        self.connect()
        assert self._sock is not None
        self._sock.sendall(data)

    def _fill(self) -> None:
        assert self._sock is not None
        data = self._sock.recv(65536)
        if not data:
            raise IcapClientError("connection closed by the server")
        self._buf += data

    def _read_until(self, sep: bytes, limit: int = 1 << 20) -> bytes:
        while True:
            i = self._buf.find(sep)
            if i >= 0:
                out = bytes(self._buf[: i + len(sep)])
                del self._buf[: i + len(sep)]
                return out
            if len(self._buf) > limit:
                raise IcapClientError("response head too large")
            self._fill()

    def _read_exact(self, n: int) -> bytes:
        while len(self._buf) < n:
            self._fill()
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            line = self._read_until(_CRLF)
            size = int(line.split(b";")[0].strip(), 16)
            if size == 0:
                while self._read_until(_CRLF) != _CRLF:
                    pass
                return b"".join(parts)
            parts.append(self._read_exact(size))
            self._read_exact(2)

    # -- requests ---------------------------------------------------------------------------
    def read_response(self) -> IcapResponse:
        """Read one ICAP response (after any 100 Continue has been consumed)."""
        head = self._read_until(_CRLF + _CRLF)
        lines = head[:-4].split(_CRLF)
        parts = lines[0].decode("latin-1").split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("ICAP/"):
            raise IcapClientError(f"bad status line {lines[0][:80]!r}")
        status = int(parts[1])
        headers = _parse_fields(lines[1:])
        resp = IcapResponse(status, parts[2] if len(parts) > 2 else "", headers, raw_head=head)
        encap = headers.get("Encapsulated") or ""
        entries: list[tuple[str, int]] = []
        for item in encap.split(","):
            name, _, offset = item.strip().partition("=")
            if name:
                entries.append((name, int(offset)))
        hdr_entries = [(n, o) for n, o in entries if n in ("req-hdr", "res-hdr")]
        if hdr_entries:
            total = entries[-1][1]
            raw = self._read_exact(total)
            for i, (name, off) in enumerate(entries):
                if name not in ("req-hdr", "res-hdr"):
                    continue
                msg = _http_head(raw[off: entries[i + 1][1]])
                if name == "req-hdr":
                    resp.http_request = msg
                else:
                    resp.http_response = msg
        if entries and entries[-1][0] in ("req-body", "res-body", "opt-body"):
            resp.body = self._read_chunked()
        if (headers.get("Connection") or "").lower() == "close":
            self.close()
        return resp

    def options(self, service: str) -> IcapResponse:
        self.send_raw(
            f"OPTIONS icap://{self.host}:{self.port}/{service} ICAP/1.0\r\nHost: {self.host}\r\n\r\n".encode()
        )
        return self.read_response()

    def request(
        self,
        method: str,
        service: str,
        *,
        http_request: bytes | None = None,
        http_response: bytes | None = None,
        body: bytes | None = None,
        preview: int | None = None,
        allow_204: bool = True,
        headers: dict[str, str] | None = None,
        chunk_size: int = 65536,
    ) -> IcapResponse:
        """Send REQMOD/RESPMOD; ``http_request``/``http_response`` are raw heads ending in CRLFCRLF."""
        out = encode_head(method, f"icap://{self.host}:{self.port}/{service}", self.host,
                          http_request=http_request, http_response=http_response, has_body=body is not None,
                          preview=preview, allow_204=allow_204, headers=headers)
        interim: list[int] = []
        if body is None:
            self.send_raw(out)
            return self.read_response()
        if preview is not None:
            first, rest = body[:preview], body[preview:]
            out += _chunks(first, chunk_size)
            out += b"0; ieof\r\n\r\n" if not rest else b"0\r\n\r\n"
            self.send_raw(out)
            if not rest:
                return self.read_response()
            resp = self.read_response()
            if resp.status != 100:
                return resp
            interim.append(100)
            self.send_raw(encode_chunked(rest, chunk_size))
        else:
            self.send_raw(out + encode_chunked(body, chunk_size))
        resp = self.read_response()
        resp.interim = interim
        return resp

    def respmod(self, body: bytes, *, service: str = "respmod", content_type: str = "application/json",
                url: str = "http://origin.test/mcp", extra_response_headers: dict[str, str] | None = None,
                request_method: str = "POST", accept: str = MCP_ACCEPT, **kw: object) -> IcapResponse:
        """RESPMOD of an HTTP exchange; by default an MCP one (a POST accepting JSON or an event stream)."""
        req, res = respmod_heads(body, content_type, url, extra_response_headers, request_method, accept)
        return self.request("RESPMOD", service, http_request=req, http_response=res,
                            body=body, **kw)  # type: ignore[arg-type]

    def reqmod(self, body: bytes | None, *, service: str = "reqmod", content_type: str = "application/json",
               url: str = "http://origin.test/mcp", method: str = "POST", **kw: object) -> IcapResponse:
        return self.request("REQMOD", service, http_request=reqmod_head(body, content_type, url, method), body=body,
                            **kw)  # type: ignore[arg-type]


def respmod_heads(body: bytes, content_type: str = "application/json", url: str = "http://origin.test/mcp",
                  extra_response_headers: dict[str, str] | None = None, request_method: str = "POST",
                  accept: str = MCP_ACCEPT) -> tuple[bytes, bytes]:
    """The encapsulated HTTP request and response heads :meth:`IcapClient.respmod` sends."""
    u = urlsplit(url)
    req = (f"{request_method} {url} HTTP/1.1\r\nHost: {u.netloc}\r\nAccept: {accept}\r\n\r\n").encode()
    hdrs = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    for k, v in (extra_response_headers or {}).items():
        hdrs += f"{k}: {v}\r\n"
    return req, (hdrs + "\r\n").encode()


def reqmod_head(body: bytes | None, content_type: str = "application/json", url: str = "http://origin.test/mcp",
                method: str = "POST") -> bytes:
    """The encapsulated HTTP request head :meth:`IcapClient.reqmod` sends."""
    u = urlsplit(url)
    head = f"{method} {url} HTTP/1.1\r\nHost: {u.netloc}\r\n"
    if body is not None:
        head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode()


def encode_head(method: str, uri: str, host: str, *, http_request: bytes | None = None,
                http_response: bytes | None = None, has_body: bool = True, preview: int | None = None,
                allow_204: bool = True, headers: dict[str, str] | None = None) -> bytes:
    """An ICAP request head with its Encapsulated offsets, followed by the encapsulated HTTP heads."""
    entries = []
    off = 0
    heads = b""
    if http_request is not None:
        entries.append(f"req-hdr={off}")
        off += len(http_request)
        heads += http_request
    if http_response is not None:
        entries.append(f"res-hdr={off}")
        off += len(http_response)
        heads += http_response
    body_name = "res-body" if method == "RESPMOD" else "req-body"
    entries.append(f"{body_name}={off}" if has_body else f"null-body={off}")
    h = [f"{method} {uri} ICAP/1.0", f"Host: {host}", f"Encapsulated: {', '.join(entries)}"]
    if allow_204:
        h.append("Allow: 204")
    if preview is not None and has_body:
        h.append(f"Preview: {preview}")
    for k, v in (headers or {}).items():
        h.append(f"{k}: {v}")
    return ("\r\n".join(h) + "\r\n\r\n").encode("latin-1") + heads


def encode_chunked(data: bytes, size: int = 65536) -> bytes:
    """``data`` as ICAP chunks followed by the last chunk."""
    return _chunks(data, size) + b"0\r\n\r\n"


def _chunks(data: bytes, size: int) -> bytes:
    out = bytearray()
    for i in range(0, len(data), size):
        part = data[i: i + size]
        out += b"%x\r\n%s\r\n" % (len(part), part)
    return bytes(out)
