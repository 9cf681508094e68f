"""One ICAP connection: a thin asyncio loop around the sans-IO parser.

Reads bytes, feeds the parser, acts on its events, writes serialised answers. Protocol errors
become an ICAP error status (the parser's ``status_hint``) and, when the byte stream can't be
resynchronised, a close. Nothing here inspects content: that is the :class:`Transaction`'s job.
"""

from __future__ import annotations

import asyncio
import logging
import time

from icap_dlp.errors import IcapProtocolError
from icap_dlp.icap import (
    LAST_CHUNK,
    NEED_DATA,
    BodyChunk,
    EndOfMessage,
    Event,
    IcapParser,
    IcapRequest,
    Method,
    PreviewComplete,
    chunk,
    continue_response,
    error_response,
    modified_head,
    no_content_response,
    options_response,
)
from icap_dlp.seam import Plan, Replace, StreamPlan, Transaction, Unmodified, echo_stream_plan
from icap_dlp.server._app import Application

log = logging.getLogger("icap_dlp.server")

READ_SIZE = 65536


class _Closed(Exception):
    """The peer closed the connection (``eof``: its sending side only, it may still read)."""

    def __init__(self, eof: bool = False) -> None:
        super().__init__("closed")
        self.eof = eof


class _Timeout(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class Connection:
    def __init__(self, app: Application, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.app = app
        self.reader = reader
        self.writer = writer
        self.parser = IcapParser(app.limits)
        peer = writer.get_extra_info("peername")
        self.peer: str | None = peer[0] if isinstance(peer, tuple) else None
        self.busy = False
        self.requests = 0
        self._must_close = False
        self._answer_started = False

    # -- reading ----------------------------------------------------------------------------
    async def _read(self, timeout: float, what: str) -> None:
        try:
            async with asyncio.timeout(timeout):  # no task per read, unlike wait_for
                data = await self.reader.read(READ_SIZE)
        except TimeoutError:
            raise _Timeout(what) from None
        except (ConnectionError, OSError):
            raise _Closed() from None
        if not data:
            raise _Closed(eof=True)
        self.parser.feed(data)

    def _parse(self) -> Event | object:
        """The parser's next event. Whatever goes wrong inside the parser is a malformed request:
        an exception other than IcapProtocolError (a bug, a limit Python itself enforces) still
        gets an ICAP 400 and a close, never a dropped connection with a traceback."""
        try:
            return self.parser.next_event()
        except IcapProtocolError:
            raise
        except Exception as exc:
            # Only the type: the message of an arbitrary exception may quote request bytes.
            raise IcapProtocolError(f"unparsable request ({type(exc).__name__})", 400) from exc

    async def _next_event(self, what: str = "body") -> Event:
        while True:
            ev = self._parse()
            if ev is not NEED_DATA:
                return ev  # type: ignore[return-value]
            await self._read(self.app.settings.read_timeout, what)

    async def _next_request(self) -> IcapRequest | None:
        """Wait for the next request head: idle timeout first, then a deadline for the head."""
        ev = self._parse()
        if ev is NEED_DATA and self.parser.idle and self.parser.buffered == 0:
            if self.app.stopping:
                return None
            try:
                await self._read(self.app.settings.idle_timeout, "idle")
            except _Timeout:
                return None
            ev = self._parse()
        self.busy = True
        deadline = time.monotonic() + self.app.settings.header_timeout
        while ev is NEED_DATA:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Timeout("request head")
            await self._read(left, "request head")
            ev = self._parse()
        if not isinstance(ev, IcapRequest):  # pragma: no cover - parser guarantees the order
            raise IcapProtocolError("unexpected event before a request head", 500)
        return ev

    # -- writing ----------------------------------------------------------------------------
    async def _write(self, data: bytes) -> None:
        writer = self.writer
        writer.write(data)
        # Most answers leave in the write itself: wait only when some is still buffered (the
        # client reads slowly) or the connection is closing (drain raises on a lost one).
        transport = writer.transport
        if transport.get_write_buffer_size() or transport.is_closing():
            await writer.drain()

    # -- the loop ---------------------------------------------------------------------------
    async def run(self) -> None:
        try:
            while True:
                try:
                    req = await self._next_request()
                except IcapProtocolError as exc:
                    await self._protocol_error(exc)
                    return
                except _Timeout:
                    await self._safe_write(error_response(408, self.app.istag))
                    return
                if req is None:
                    return
                self.busy = True
                self.requests += 1
                self._answer_started = False
                try:
                    keep = await self._handle(req)
                except IcapProtocolError as exc:
                    await self._protocol_error(exc)
                    return
                except _Timeout:
                    self.app.stats.timeouts += 1
                    if not self._answer_started:
                        await self._safe_write(error_response(408, self.app.istag))
                    return
                except (_Closed, ConnectionError, OSError, asyncio.CancelledError):
                    raise
                except Exception:
                    # A bug outside the parser and outside inspection (which answers its own
                    # failures through the failure policy): never an allow, never a silent drop.
                    log.exception("request failed")
                    self.app.stats.internal_errors += 1
                    if not self._answer_started:
                        await self._safe_write(error_response(500, self.app.istag, close=True))
                    return
                finally:
                    self.busy = False
                    self.app.transaction_done()
                if not keep or req.wants_close or self.app.stopping:
                    return
                await self.app.after_transaction()
        except _Closed as closed:
            # The client stopped sending in the middle of a request: tell it so (it may still
            # read: a half-close) rather than vanish. At a request boundary there is nothing to say.
            mid_request = self.busy or not self.parser.idle or self.parser.buffered > 0
            if closed.eof and mid_request and not self._answer_started:
                self.app.stats.protocol_errors += 1
                await self._safe_write(error_response(400, self.app.istag, close=True))
            return
        except (ConnectionError, OSError):
            return
        finally:
            self.writer.close()
            try:
                await asyncio.wait_for(self.writer.wait_closed(), 1.0)
            except (TimeoutError, ConnectionError, OSError):
                pass

    async def _safe_write(self, data: bytes) -> None:
        try:
            await self._write(data)
        except (ConnectionError, OSError):
            pass

    async def _protocol_error(self, exc: IcapProtocolError) -> None:
        self.app.stats.protocol_errors += 1
        log.info("protocol error from %s: %s (ICAP %d)", self.peer, exc, exc.status_hint)
        if self._answer_started:
            return  # a 200 is already on the wire: closing the connection is the only signal left
        await self._safe_write(error_response(exc.status_hint, self.app.istag, close=True))

    async def _reject(self, status: int) -> bool:
        """Answer an error for a request whose body (if any) we won't read; keep-alive if in sync."""
        keep = self.parser.idle
        await self._write(error_response(status, self.app.istag, close=not keep))
        return keep

    async def _handle(self, req: IcapRequest) -> bool:
        service = self.app.services.get(req.service)
        if service is None:
            return await self._reject(404)
        if req.method is Method.OPTIONS:
            if req.has_body:  # opt-body: read and ignore it
                while not isinstance(await self._next_event(), EndOfMessage):
                    pass
            await self._write(options_response(
                service, self.app.istag, max_connections=self.app.settings.max_connections))
            return True
        if req.method not in service.methods:
            return await self._reject(405)
        txn = self.app.inspector.begin(req, self.peer)
        status = 0
        try:
            status = await self._modify(req, txn)
        finally:
            txn.finished(status)
        return status != 0 and not self._must_close

    async def _modify(self, req: IcapRequest, txn: Transaction) -> int:
        self._must_close = False
        if not req.has_body:
            return await self._send_outcome(req, txn.decide(b""), b"")
        plan = txn.plan()
        if plan is Plan.SKIP:
            return await self._skip(req, txn)
        if plan is Plan.STREAM:
            return await self._stream(req, txn.stream())
        return await self._buffer(req, txn)

    async def _skip(self, req: IcapRequest, txn: Transaction) -> int:
        """No inspection: 204 as early as possible, else a streamed echo."""
        extra = txn.skip_headers()
        if req.preview is not None:
            pending: list[bytes] = []
            while True:
                ev = await self._next_event()
                if isinstance(ev, BodyChunk):
                    pending.append(ev.data)
                elif isinstance(ev, PreviewComplete):
                    # A client that sends a preview must accept 204 in answer to it (RFC 3507 4.5).
                    self.parser.skip_rest_of_body()
                    await self._write(no_content_response(self.app.istag, extra=extra))
                    return 204
                elif isinstance(ev, EndOfMessage):
                    if req.allow_204:
                        await self._write(no_content_response(self.app.istag, extra=extra))
                        return 204
                    return await self._send_outcome(req, Unmodified(extra), b"".join(pending))
        if req.allow_204:
            while not isinstance(await self._next_event(), EndOfMessage):
                pass
            await self._write(no_content_response(self.app.istag, extra=extra))
            return 204
        return await self._stream(req, echo_stream_plan(req))

    async def _stream(self, req: IcapRequest, plan: StreamPlan, pending: list[bytes] | None = None) -> int:
        """Send the 200 head now and pass body bytes through ``plan.body`` as they arrive.

        ``pending`` holds body bytes already read (the caller then owns the preview handling).
        """
        finished = False
        if pending is None:
            pending = []
            if req.preview is not None:
                while True:
                    ev = await self._next_event()
                    if isinstance(ev, BodyChunk):
                        pending.append(ev.data)
                    elif isinstance(ev, PreviewComplete):
                        await self._write(continue_response())
                        self.parser.continue_after_preview()
                        break
                    elif isinstance(ev, EndOfMessage):
                        finished = True
                        break
        self._answer_started = True
        await self._write(modified_head(
            self.app.istag, http_request=plan.http_request, http_response=plan.http_response,
            has_body=True, extra=plan.icap_headers,
        ))
        inspect = self.app.inspect
        body = plan.body
        limit = self.app.settings.offload_body_bytes

        def heavy(more: int) -> bool:
            # A step that inspects much (a large SSE event completed by these ``more`` bytes, a
            # held body at its end) runs off the event loop, as a large buffered body does.
            return plan.heavy or body.pending + more >= limit

        first = b"".join(pending)
        out = await inspect(heavy(len(first)), body.feed, first) if first else b""
        if out:
            await self._write(chunk(out))
        while not finished:
            ev = await self._next_event()
            if isinstance(ev, BodyChunk):
                out = await inspect(heavy(len(ev.data)), body.feed, ev.data)
                if out:
                    await self._write(chunk(out))
            elif isinstance(ev, EndOfMessage):
                finished = True
        out = await inspect(heavy(0), body.finish)
        await self._write(chunk(out) + LAST_CHUNK)
        return 200

    async def _buffer(self, req: IcapRequest, txn: Transaction) -> int:
        limit = self.app.settings.max_body_bytes
        parts: list[bytes] = []
        size = 0
        while True:
            ev = await self._next_event()
            if isinstance(ev, BodyChunk):
                size += len(ev.data)
                if size > limit:
                    return await self._oversize(req, txn, parts, ev.data)
                parts.append(ev.data)
            elif isinstance(ev, PreviewComplete):
                await self._write(continue_response())
                self.parser.continue_after_preview()
            elif isinstance(ev, EndOfMessage):
                break
        body = b"".join(parts)
        try:
            outcome = await self.app.inspect(txn.offload(len(body)), txn.decide, body)
        except Exception:
            log.exception("inspection failed")
            outcome = txn.fail("internal")
        return await self._send_outcome(req, outcome, body)

    async def _oversize(self, req: IcapRequest, txn: Transaction, parts: list[bytes], data: bytes) -> int:
        """The body outgrew the in-memory cap: the configured fail answer, never a truncation."""
        self.app.stats.oversize += 1
        outcome = txn.fail("oversize")
        if isinstance(outcome, Unmodified):
            # Fail open: pass the message through unchanged, streaming the rest.
            if req.allow_204:
                while not isinstance(await self._next_event(), EndOfMessage):
                    pass
                await self._write(no_content_response(self.app.istag, extra=outcome.icap_headers))
                return 204
            plan = echo_stream_plan(req)
            plan.icap_headers = outcome.icap_headers
            return await self._stream(req, plan, pending=[*parts, data])
        # Fail closed: answer now and close (the rest of the body is not worth reading).
        self._must_close = True
        return await self._send_outcome(req, outcome, b"", close=True)

    async def _send_outcome(self, req: IcapRequest, outcome: Unmodified | Replace, body: bytes,
                            close: bool = False) -> int:
        if isinstance(outcome, Unmodified):
            if req.allow_204:
                await self._write(no_content_response(self.app.istag, close=close, extra=outcome.icap_headers))
                return 204
            head = modified_head(
                self.app.istag,
                http_request=req.http_request if req.http_response is None else None,
                http_response=req.http_response, has_body=req.has_body, close=close,
                extra=outcome.icap_headers,
            )
            await self._write(head + (chunk(body) + LAST_CHUNK if req.has_body else b""))
            return 200
        close = close or outcome.close
        if close:
            self._must_close = True
        has_body = outcome.body is not None
        head = modified_head(
            self.app.istag, http_request=outcome.http_request, http_response=outcome.http_response,
            has_body=has_body, close=close, extra=outcome.icap_headers,
        )
        await self._write(head + (chunk(outcome.body or b"") + LAST_CHUNK if has_body else b""))
        return 200
