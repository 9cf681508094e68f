"""Admission of a new connection: the client allow-list on the bare TCP connection, then TLS.

A connection from outside ``--allow-clients`` is closed before any TLS handshake and before a
single ICAP byte is read, so an unlisted host can neither probe the TLS stack nor the parser.
Refusals are counted (``icap_dlp_clients_refused_total{reason}``) and logged at most once per
interval per reason, with the number suppressed meanwhile: a scan must not flood the log.
"""

from __future__ import annotations

import asyncio
import ssl
import typing
from asyncio import sslproto
from collections.abc import Awaitable, Callable

from icap_dlp import metrics
from icap_dlp.allowlist import AllowList, RateLimitedLog
from icap_dlp.server._tls import TlsContextHolder

StreamCallback = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Listener:
    """One listening socket's admission: allow-list first, then (ICAPS) the TLS handshake, then
    the ordinary stream callback. Used as ``loop.create_server(listener.protocol, sock=...)``."""

    def __init__(self, callback: StreamCallback, allow: AllowList, tls: TlsContextHolder | None = None,
                 handshake_timeout: float = 10.0, refusals: RateLimitedLog | None = None,
                 open_connections: Callable[[], int] = lambda: 0, max_connections: int = 1 << 30) -> None:
        self.callback = callback
        self.allow = allow
        self.tls = tls
        self.handshake_timeout = handshake_timeout
        self.refusals = refusals or RateLimitedLog()
        # handshakes in progress count against --max-connections like open ICAP connections, so
        # a flood of half-finished handshakes cannot hold unbounded memory for header_timeout
        self.open_connections = open_connections
        self.max_connections = max_connections
        self.handshaking = 0

    def protocol(self) -> asyncio.Protocol:
        return _Gate(self)

    def _refuse(self, reason: str, msg: str, **fields: object) -> None:
        metrics.CLIENTS_REFUSED.labels(reason).inc()
        self.refusals.warning(reason, msg, **fields)

    def _stream_protocol(self) -> asyncio.StreamReaderProtocol:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(loop=loop)
        return asyncio.StreamReaderProtocol(reader, self.callback, loop=loop)

    def admit(self, transport: asyncio.BaseTransport) -> None:
        """Called from ``connection_made``, before the transport has read a byte."""
        peer = transport.get_extra_info("peername")
        client = peer[0] if isinstance(peer, tuple) else None
        if not self.allow.allows(client):
            self._refuse("not_allowed", "connection refused: client not in --allow-clients", client=client)
            transport.abort()  # type: ignore[attr-defined]
            return
        transport = typing.cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        app = self._stream_protocol()
        if self.tls is None:
            transport.set_protocol(app)
            app.connection_made(transport)
            return
        # The TLS layer takes the transport over synchronously, inside connection_made: no byte
        # (the ClientHello included) can arrive in between. This is what loop.start_tls and
        # create_server(ssl=...) do internally, with the allow-list check placed before it.
        if self.handshaking + self.open_connections() >= self.max_connections:
            self._refuse("busy", "connection refused: --max-connections reached (TLS handshakes included)",
                         client=client)
            transport.abort()
            return
        self.handshaking += 1
        loop = asyncio.get_running_loop()
        handshake: asyncio.Future[None] = loop.create_future()
        handshake.add_done_callback(lambda f: self._handshake_done(f, client))
        tls = sslproto.SSLProtocol(loop, app, self.tls.context, handshake, server_side=True,
                                   ssl_handshake_timeout=self.handshake_timeout)  # type: ignore[arg-type]
        transport.set_protocol(tls)
        tls.connection_made(transport)

    def _handshake_done(self, fut: asyncio.Future[None], client: str | None) -> None:
        self.handshaking -= 1
        exc = None if fut.cancelled() else fut.exception()
        if exc is None:
            return
        if isinstance(exc, ConnectionError) and not isinstance(exc, ssl.SSLError):
            # closed before or during the handshake: TCP health checks and port scans; counted only
            metrics.CLIENTS_REFUSED.labels("tls_closed").inc()
            return
        self._refuse("tls_handshake", "TLS handshake failed", client=client,
                     error=type(exc).__name__ + ": " + str(exc)[:200])


class _Gate(asyncio.Protocol):
    def __init__(self, listener: Listener) -> None:
        self.listener = listener

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.listener.admit(transport)
