"""Audit delivery: a bounded queue off the request path, drained by async sinks.

``AuditLogger.emit`` is called on the request path: it only puts the record on a bounded queue.
When the queue is full the backpressure setting decides: ``drop`` (counted) or ``block`` (the
record is written inline, slowing that request rather than losing the record). ``close()`` drains
the queue on graceful shutdown, so every decision answered before SIGTERM has its record.

Sinks: JSON Lines file (aiofiles; one file per worker, ``audit.jsonl`` -> ``audit.w0.jsonl``, with
size rotation, retention and an fsync interval), stdout (containers), and syslog (RFC 5424 over
UDP or TCP with octet counting) carrying JSON or CEF.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiofiles

from icap_dlp import metrics

log = logging.getLogger("icap_dlp.audit")


class Sink(Protocol):
    async def write(self, lines: list[dict[str, Any]]) -> None: ...

    async def close(self) -> None: ...


def to_json(rec: dict[str, Any]) -> str:
    return json.dumps(rec, ensure_ascii=False, separators=(",", ":"), default=str)


def _cef_escape_header(v: str) -> str:
    return v.replace("\\", "\\\\").replace("|", "\\|")


def _cef_escape_ext(v: str) -> str:
    return v.replace("\\", "\\\\").replace("=", "\\=").replace("\n", "\\n").replace("\r", "\\r")


_SEVERITY = {"block": 8, "redact": 5, "monitor": 3, "allow": 1}


def to_cef(rec: dict[str, Any], version: str = "0.1") -> str:
    """ArcSight CEF:0 (Splunk, QRadar and Sentinel parse it)."""
    decision = str(rec.get("decision"))
    name = f"DLP {decision}" + (f" ({rec['failure']})" if rec.get("failure") else "")
    ext = {
        "rt": rec.get("ts"), "src": rec.get("client_ip"), "suser": rec.get("user"),
        "requestMethod": (rec.get("http") or {}).get("method"),
        "dhost": (rec.get("http") or {}).get("host"), "request": (rec.get("http") or {}).get("path"),
        "act": decision, "cs1Label": "rules", "cs1": ",".join(rec.get("rules") or []),
        "cs2Label": "incident", "cs2": rec.get("incident_id"),
        "cs3Label": "tool", "cs3": ((rec.get("mcp") or {}).get("tool")),
        "cs4Label": "detectors", "cs4": ",".join(f"{f['detector']}:{f['count']}" for f in rec.get("findings") or []),
        "cs5Label": "policyVersion", "cs5": (rec.get("policy") or {}).get("version"),
        "cn1Label": "bytesInspected", "cn1": rec.get("bytes_inspected"),
    }
    body = " ".join(f"{k}={_cef_escape_ext(str(v))}" for k, v in ext.items() if v not in (None, ""))
    head = "|".join(_cef_escape_header(x) for x in ("icap-dlp", "icap-dlp", version, f"dlp-{decision}", name))
    return f"CEF:0|{head}|{_SEVERITY.get(decision, 1)}|{body}"


def _leef_escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def to_leef(rec: dict[str, Any], version: str = "0.1") -> str:
    """IBM QRadar LEEF:2.0 with tab-separated attributes."""
    decision = str(rec.get("decision"))
    http = rec.get("http") or {}
    attrs = {
        "devTime": rec.get("ts"), "devTimeFormat": "yyyy-MM-dd'T'HH:mm:ss.SSSX", "src": rec.get("client_ip"),
        "usrName": rec.get("user"), "dstHost": http.get("host"), "url": http.get("path"),
        "action": decision, "rules": ",".join(rec.get("rules") or []), "incident": rec.get("incident_id"),
        "tool": (rec.get("mcp") or {}).get("tool"), "policyVersion": (rec.get("policy") or {}).get("version"),
        "detectors": ",".join(f"{f['detector']}:{f['count']}" for f in rec.get("findings") or []),
        "sev": _SEVERITY.get(decision, 1), "failure": rec.get("failure"),
    }
    body = "\t".join(f"{k}={_leef_escape(str(v))}" for k, v in attrs.items() if v not in (None, ""))
    return f"LEEF:2.0|icap-dlp|icap-dlp|{version}|dlp-{decision}|\t|{body}"


class JsonlFileSink:
    """JSON Lines, one file per worker, appended through aiofiles (a thread: the event loop never
    waits on the disk), rotated by size and age, fsynced every ``fsync_interval`` seconds.

    A failed write (ENOSPC, EIO ...) never leaves half a record behind: the file is cut back to
    its last complete line and reopened on the next write, so a retry appends whole lines only.
    """

    name = "file"

    def __init__(self, path: str, worker: int, *, rotate_bytes: int = 100 * 1024 * 1024, keep: int = 10,
                 fsync_interval: float = 1.0, rotate_seconds: float = 0.0) -> None:
        p = Path(path)
        self.path = p.with_name(f"{p.stem}.w{worker}{p.suffix or '.jsonl'}")
        self.rotate_bytes = rotate_bytes
        self.keep = keep
        self.fsync_interval = fsync_interval
        self._f: Any = None
        self._size = 0
        self._last_sync = time.monotonic()
        self.rotate_seconds = rotate_seconds
        self._opened = time.monotonic()

    async def _open(self) -> None:
        await asyncio.to_thread(self.path.parent.mkdir, parents=True, exist_ok=True)
        self._f = await aiofiles.open(self.path, "ab", buffering=0)
        self._size = int(await asyncio.to_thread(lambda: self.path.stat().st_size))
        self._opened = time.monotonic()

    def _rotate_files(self) -> None:
        for i in range(self.keep - 1, 0, -1):
            src = self.path.with_name(f"{self.path.name}.{i}")
            if src.exists():
                src.replace(self.path.with_name(f"{self.path.name}.{i + 1}"))
        self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        old = self.path.with_name(f"{self.path.name}.{self.keep + 1}")
        if old.exists():
            old.unlink()

    async def _rotate(self) -> None:
        await self._f.close()
        self._f = None
        await asyncio.to_thread(self._rotate_files)
        await self._open()

    async def _drop_file(self) -> None:
        """After a failed write: close, cut the file back to its last whole line, reopen later."""
        f, self._f = self._f, None
        if f is not None:
            with contextlib.suppress(OSError, ValueError):
                await f.close()
        with contextlib.suppress(OSError):
            await asyncio.to_thread(os.truncate, self.path, self._size)

    async def write(self, lines: list[dict[str, Any]]) -> None:
        if self._f is None:
            await self._open()
        data = "".join(to_json(r) + "\n" for r in lines).encode("utf-8")
        try:
            view = memoryview(data)
            while view:  # an unbuffered write may take part of the data
                n = await self._f.write(view)
                view = view[n:]
        except BaseException:
            await self._drop_file()
            raise
        self._size += len(data)
        now = time.monotonic()
        if self.fsync_interval >= 0 and now - self._last_sync >= self.fsync_interval:
            self._last_sync = now
            await asyncio.to_thread(os.fsync, self._f.fileno())
        too_old = self.rotate_seconds > 0 and now - self._opened >= self.rotate_seconds
        if self._size >= self.rotate_bytes or (too_old and self._size > 0):
            await self._rotate()

    async def close(self) -> None:
        if self._f is not None:
            with contextlib.suppress(OSError):
                await asyncio.to_thread(os.fsync, self._f.fileno())
            await self._f.close()
            self._f = None


class StdoutSink:
    name = "stdout"

    async def write(self, lines: list[dict[str, Any]]) -> None:
        sys.stdout.write("".join(to_json(r) + "\n" for r in lines))
        sys.stdout.flush()

    async def close(self) -> None:
        sys.stdout.flush()


class SyslogSink:
    """RFC 5424 over UDP (one datagram per record), TCP or TLS (octet-counting framing, RFC 6587).

    ``tls://host:port`` verifies the receiver against the system CAs, or against the bundle in
    ``ICAP_DLP_SYSLOG_CA_FILE`` (a secrets-manager-filled file, like the HMAC key).
    """

    name = "syslog"

    def __init__(self, url: str, fmt: str = "json", app: str = "icap-dlp") -> None:
        u = urlsplit(url)
        if u.scheme not in ("udp", "tcp", "tls") or not u.hostname:
            raise ValueError(f"syslog URL must be udp://, tcp:// or tls://host:port, not {url!r}")
        self.ssl: Any = None
        if u.scheme == "tls":
            import ssl

            self.ssl = ssl.create_default_context(cafile=os.environ.get("ICAP_DLP_SYSLOG_CA_FILE") or None)
        self.proto = u.scheme
        self.addr = (u.hostname, u.port or 514)
        self.fmt = fmt
        self.app = app
        self.host = socket.gethostname()
        self._udp: socket.socket | None = None
        self._writer: asyncio.StreamWriter | None = None

    def _frame(self, rec: dict[str, Any]) -> bytes:
        msg = to_cef(rec) if self.fmt == "cef" else to_leef(rec) if self.fmt == "leef" else to_json(rec)
        pri = 8 * 13 + (4 if rec.get("decision") == "block" else 5)  # facility log audit
        line = f"<{pri}>1 {rec.get('ts', '-')} {self.host} {self.app} {os.getpid()} dlp - {msg}"
        return line.encode("utf-8")

    async def write(self, lines: list[dict[str, Any]]) -> None:
        if self.proto == "udp":
            if self._udp is None:
                self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            for r in lines:
                self._udp.sendto(self._frame(r), self.addr)
            return
        if self._writer is None:
            _, self._writer = await asyncio.open_connection(*self.addr, ssl=self.ssl)
        data = b"".join(b"%d %s" % (len(f), f) for f in (self._frame(r) for r in lines))
        try:
            self._writer.write(data)
            await self._writer.drain()
        except (ConnectionError, OSError):
            self._writer = None
            raise

    async def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()


def error_reason(exc: BaseException) -> str:
    """A short, value-free label for a delivery error: the errno name (ENOSPC, EIO, EACCES ...)
    or the exception type."""
    if isinstance(exc, OSError) and exc.errno is not None:
        return errno.errorcode.get(exc.errno, f"errno{exc.errno}")
    if isinstance(exc, TimeoutError):
        return "timeout"
    return type(exc).__name__


class _Spool:
    """Records a sink could not take, on disk in arrival order, replayed before newer ones.

    One JSON Lines file per sink and worker; it survives a restart and is replayed at start.
    Every method blocks on the disk: the logger calls them through ``asyncio.to_thread``.
    Replay reads a bounded batch from ``offset``; the file is removed once it has all been sent.
    """

    def __init__(self, directory: Path, name: str) -> None:
        self.directory = directory
        self.path = directory / f"{name}.spool.jsonl"
        self.offset = 0

    def pending(self) -> bool:
        try:
            return self.path.stat().st_size > self.offset
        except OSError:
            return False

    def add(self, recs: list[dict[str, Any]]) -> None:
        """Append whole lines and fsync; on failure the file is cut back to what it held."""
        data = "".join(to_json(r) + "\n" for r in recs).encode("utf-8")
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            size = os.fstat(fd).st_size
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            except OSError:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)
                raise
        finally:
            os.close(fd)
        metrics.AUDIT_SPOOLED.inc(len(recs))

    def read_batch(self, limit: int) -> tuple[list[dict[str, Any]], int]:
        """Up to ``limit`` records from the replay offset, and the offset after them."""
        out: list[dict[str, Any]] = []
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            end = self.offset
            for line in f:
                if not line.endswith(b"\n"):
                    break  # a line still being written (or cut): next time
                end += len(line)
                with contextlib.suppress(ValueError):
                    out.append(json.loads(line))
                if len(out) >= limit:
                    break
        return out, end

    def advance(self, offset: int) -> None:
        self.offset = offset
        if self.path.stat().st_size <= offset:
            self.path.unlink(missing_ok=True)
            self.offset = 0


@dataclass(slots=True)
class AuditHealth:
    """What the logger reports when it changes: ``degraded`` while any sink is failing (records
    wait in its spool or in memory); ``storing`` False while some records are stored nowhere
    durable (sink and spool both failing: held in memory, bounded, or dropped)."""

    degraded: bool = False
    storing: bool = True


class _Delivery:
    """One sink with its backlog: the disk spool, and records held in memory while the spool
    itself cannot be written (bounded; past the bound they are dropped and counted)."""

    def __init__(self, sink: Sink, spool: _Spool | None, held_limit: int) -> None:
        self.sink = sink
        self.name = str(getattr(sink, "name", type(sink).__name__))
        self.spool = spool
        self.held: list[dict[str, Any]] = []
        self.held_limit = held_limit
        self.failing = False
        self.retry_at = 0.0
        self.backoff = 0.0

    def backlog(self) -> bool:
        return bool(self.held) or (self.spool is not None and self.spool.pending())


class AuditLogger:
    """A bounded queue drained into the sinks by one task that never dies.

    ``emit`` runs on the request path and never touches the disk. When the queue is full the
    backpressure setting decides: ``spool`` (records wait in an overflow list, bounded by the
    queue size or 1,024, that the drainer takes next and sends on or spools like any other
    record; past that bound they are dropped and counted), ``block`` (the record
    waits and the connection that produced it waits in :meth:`backpressure` for room, up to
    ``block_timeout``; then its record joins the overflow list) or ``drop`` (counted).

    A sink that fails (ENOSPC, EIO, EACCES, a syslog receiver that is down ...) is retried with
    exponential backoff (0.5 s to 30 s); meanwhile its records go to its disk spool, written in
    batches off the event loop, and are replayed in order when it recovers; if the spool cannot
    be written either they are held in memory (bounded). Every error is counted in
    ``icap_dlp_audit_errors_total{sink,reason}``; ``icap_dlp_audit_degraded`` is 1 while a sink
    is failing. ``on_health`` is called with an :class:`AuditHealth` whenever that changes.
    """

    def __init__(self, sinks: list[Sink], *, queue_size: int = 10000, backpressure: str = "spool",
                 batch: int = 256, spool_dir: str | Path | None = None, worker: int = 0,
                 block_timeout: float = 1.0, held_limit: int | None = None,
                 on_health: Callable[[AuditHealth], None] | None = None) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(queue_size)
        self.backpressure_mode = backpressure
        self.batch = batch
        self.block_timeout = block_timeout
        self.dropped = 0
        self.written = 0
        self._task: asyncio.Task[None] | None = None
        self._overflow: list[dict[str, Any]] = []
        self._waiting: list[dict[str, Any]] = []
        self._room = asyncio.Event()
        self._busy = False
        self._inflight: list[dict[str, Any]] = []
        self.dropped_since_healthy = 0
        # Bounds of what waits in memory besides the queue: the overflow list (spool and block
        # modes) and, per sink, records held while its spool cannot be written either.
        self.overflow_limit = max(queue_size, 1024)
        limit = held_limit if held_limit is not None else self.overflow_limit
        self.deliveries = [
            _Delivery(sk, _Spool(Path(spool_dir), f"sink{i}-{type(sk).__name__}.w{worker}") if spool_dir else None,
                      limit)
            for i, sk in enumerate(sinks)
        ]
        self.on_health = on_health
        self.health = AuditHealth()
        metrics.AUDIT_DEGRADED.set(0)

    # -- the request path ------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="icap-dlp-audit")

    def emit(self, rec: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(rec)
        except asyncio.QueueFull:
            if self.backpressure_mode == "block" and len(self._waiting) < self.overflow_limit:
                self._waiting.append(rec)
            elif self.backpressure_mode != "drop" and len(self._overflow) < self.overflow_limit:
                self._overflow.append(rec)
            else:
                self._drop(1)
        self._report_depth()

    async def backpressure(self) -> None:
        """``block`` mode: wait (bounded by ``block_timeout``) until the records waiting for
        room are queued; what still waits then joins the overflow list. A no-op otherwise."""
        if not self._waiting:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.block_timeout
        while self._waiting:
            try:
                self.queue.put_nowait(self._waiting[0])
            except asyncio.QueueFull:
                left = deadline - loop.time()
                if left <= 0:
                    break
                self._room.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(left):
                        await self._room.wait()
            else:
                self._waiting.pop(0)
        if self._waiting:
            room = self.overflow_limit - len(self._overflow)
            self._overflow.extend(self._waiting[:room])
            self._drop(max(0, len(self._waiting) - room))
            self._waiting.clear()

    def _report_depth(self) -> None:
        metrics.AUDIT_QUEUE.set(self.queue.qsize() + len(self._overflow) + len(self._waiting))

    @property
    def storing(self) -> bool:
        return self.health.storing

    # -- the drainer -----------------------------------------------------------------------
    def _drop(self, n: int) -> None:
        if n:
            self.dropped += n
            metrics.AUDIT_DROPPED.inc(n)

    def _error(self, sink: str, exc: BaseException) -> None:
        reason = error_reason(exc)
        metrics.audit_error(sink, reason)
        log.error("audit sink failed", extra={"fields": {"sink": sink, "reason": reason}})

    def _update_health(self) -> None:
        degraded = any(d.failing or d.backlog() for d in self.deliveries)
        storing = not any(d.held for d in self.deliveries) and self.dropped_since_healthy == 0
        new = AuditHealth(degraded, storing)
        if new != self.health:
            self.health = new
            metrics.AUDIT_DEGRADED.set(1 if degraded else 0)
            log.warning("audit delivery state changed",
                        extra={"fields": {"degraded": degraded, "storing": storing}})
            if self.on_health is not None:
                try:
                    self.on_health(new)
                except Exception:
                    log.exception("audit health report failed")

    async def _hold(self, d: _Delivery, recs: list[dict[str, Any]]) -> None:
        """Put records behind the sink's backlog: its spool, else memory (bounded)."""
        if d.spool is not None and not d.held:
            try:
                await asyncio.to_thread(d.spool.add, recs)
                return
            except OSError as exc:
                self._error("spool", exc)
        room = d.held_limit - len(d.held)
        d.held.extend(recs[:room])
        if len(recs) > room:
            self._drop(len(recs) - room)
            self.dropped_since_healthy += len(recs) - room

    def _failed(self, d: _Delivery, exc: BaseException) -> None:
        self._error(d.name, exc)
        d.failing = True
        d.backoff = min(max(d.backoff * 2, 0.5), 30.0)
        d.retry_at = time.monotonic() + d.backoff

    async def _write(self, d: _Delivery, recs: list[dict[str, Any]]) -> bool:
        try:
            for j in range(0, len(recs), self.batch):
                await d.sink.write(recs[j:j + self.batch])
        except Exception as exc:  # noqa: BLE001 - any sink failure: count it, keep the records, retry
            self._failed(d, exc)
            return False
        return True

    async def _replay(self, d: _Delivery) -> None:
        """Send the backlog in order (spool, then records held in memory) while the sink takes it."""
        while True:
            if d.held and d.spool is not None:
                held, d.held = d.held, []
                await self._hold(d, held)  # back on disk if the spool works again (keeps order)
            if d.spool is not None and d.spool.pending():
                try:
                    recs, end = await asyncio.to_thread(d.spool.read_batch, self.batch * 4)
                except OSError as exc:
                    self._error("spool", exc)
                    d.retry_at = time.monotonic() + max(d.backoff, 0.5)
                    return
                if recs and not await self._write(d, recs):
                    return
                try:
                    await asyncio.to_thread(d.spool.advance, end)
                except OSError as exc:
                    self._error("spool", exc)
                continue
            if d.held:
                recs = d.held[: self.batch * 4]
                if not await self._write(d, recs):
                    return
                del d.held[: len(recs)]
                continue
            d.failing = False
            d.backoff = 0.0
            self.dropped_since_healthy = 0
            return

    async def _deliver(self, recs: list[dict[str, Any]]) -> None:
        for d in self.deliveries:
            if d.backlog() or (d.failing and time.monotonic() < d.retry_at):
                if recs:
                    await self._hold(d, recs)
                if time.monotonic() >= d.retry_at:
                    await self._replay(d)
            elif recs:
                if await self._write(d, recs):
                    d.failing, d.backoff = False, 0.0
                else:
                    await self._hold(d, recs)
        self.written += len(recs)

    def _take(self) -> list[dict[str, Any]]:
        recs: list[dict[str, Any]] = []
        while len(recs) < self.batch and not self.queue.empty():
            recs.append(self.queue.get_nowait())
        if self._overflow:
            recs.extend(self._overflow)
            self._overflow.clear()
        self._room.set()
        return recs

    async def _cycle(self) -> None:
        first: list[dict[str, Any]] = []
        if self.queue.empty() and not self._overflow:
            # Wake at least twice a second: a failing sink is retried even when nothing new comes.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.5):
                    first.append(await self.queue.get())
        self._inflight = first + self._take()
        self._busy = True
        try:
            await self._deliver(self._inflight)
            self._inflight = []
        finally:
            self._busy = False
            self._report_depth()
        self._update_health()

    async def _run(self) -> None:
        while True:
            try:
                await self._cycle()
            except asyncio.CancelledError:
                raise
            except Exception:  # the drainer must never die: log, count, back off, go on
                log.exception("audit drainer error")
                metrics.audit_error("drainer", "internal")
                self._overflow[:0] = self._inflight  # not lost: retried next cycle
                self._inflight = []
                await asyncio.sleep(0.5)

    async def close(self, timeout: float = 10.0) -> None:
        """Drain: every record emitted before close() is written, or spooled (bounded by ``timeout``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._overflow.extend(self._waiting)
        self._waiting.clear()
        while ((self._busy or not self.queue.empty() or self._overflow) and loop.time() < deadline
               and self._task is not None and not self._task.done()):
            await asyncio.sleep(0.01)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        rest = self._inflight + self._take()  # in flight when cancelled: sent again (at least once)
        self._inflight = []
        if rest:
            try:
                async with asyncio.timeout(max(0.1, deadline - loop.time())):
                    await self._deliver(rest)
            except TimeoutError:
                for d in self.deliveries:
                    if d.spool is not None:
                        with contextlib.suppress(OSError):
                            d.spool.add(rest)
        for d in self.deliveries:
            if d.held and d.spool is not None:
                with contextlib.suppress(OSError):
                    d.spool.add(d.held)  # last chance for records held in memory
            with contextlib.suppress(Exception):
                await d.sink.close()
