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
import json
import logging
import os
import socket
import sys
import time
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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f = await aiofiles.open(self.path, "a", encoding="utf-8")
        self._size = self.path.stat().st_size
        self._opened = time.monotonic()

    async def _rotate(self) -> None:
        await self._f.close()
        for i in range(self.keep - 1, 0, -1):
            src = self.path.with_name(f"{self.path.name}.{i}")
            if src.exists():
                src.replace(self.path.with_name(f"{self.path.name}.{i + 1}"))
        self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        old = self.path.with_name(f"{self.path.name}.{self.keep + 1}")
        if old.exists():
            old.unlink()
        await self._open()

    async def write(self, lines: list[dict[str, Any]]) -> None:
        if self._f is None:
            await self._open()
        data = "".join(to_json(r) + "\n" for r in lines)
        await self._f.write(data)
        await self._f.flush()
        self._size += len(data.encode())
        now = time.monotonic()
        if self.fsync_interval >= 0 and now - self._last_sync >= self.fsync_interval:
            self._last_sync = now
            await asyncio.get_running_loop().run_in_executor(None, os.fsync, self._f.fileno())
        too_old = self.rotate_seconds > 0 and now - self._opened >= self.rotate_seconds
        if self._size >= self.rotate_bytes or (too_old and self._size > 0):
            await self._rotate()

    async def close(self) -> None:
        if self._f is not None:
            await self._f.flush()
            with contextlib.suppress(OSError):
                os.fsync(self._f.fileno())
            await self._f.close()
            self._f = None


class StdoutSink:
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


class _Spool:
    """Records a sink could not take, on disk in arrival order; replayed before newer ones.

    One JSON Lines file per sink and worker; it survives a restart and is replayed at start.
    """

    def __init__(self, directory: Path, name: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{name}.spool.jsonl"
        self.retry_at = 0.0
        self.backoff = 0.5

    def pending(self) -> bool:
        return self.path.exists() and self.path.stat().st_size > 0

    def add(self, recs: list[dict[str, Any]]) -> None:
        metrics.AUDIT_SPOOLED.inc(len(recs))
        with open(self.path, "a", encoding="utf-8") as f:
            f.write("".join(to_json(r) + "\n" for r in recs))
            f.flush()
            os.fsync(f.fileno())

    def read(self) -> list[dict[str, Any]]:
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
        return out

    def failed(self) -> None:
        self.retry_at = time.monotonic() + self.backoff
        self.backoff = min(self.backoff * 2, 30.0)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
        self.backoff = 0.5
        self.retry_at = 0.0


class AuditLogger:
    """Bounded queue + sinks. Backpressure when the queue is full: ``block`` (write inline, never
    lose a record), ``spool`` (to disk, replayed in order) or ``drop`` (counted). A sink that fails
    is retried with backoff; with a spool directory its records wait on disk meanwhile."""

    def __init__(self, sinks: list[Sink], *, queue_size: int = 10000, backpressure: str = "spool",
                 batch: int = 256, spool_dir: str | Path | None = None, worker: int = 0) -> None:
        self.sinks = sinks
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(queue_size)
        self.backpressure = backpressure
        self.batch = batch
        self.dropped = 0
        self.written = 0
        self.failed = 0
        self._task: asyncio.Task[None] | None = None
        self._inline: list[dict[str, Any]] = []
        self._busy = False
        self.spools: list[_Spool | None] = [
            _Spool(Path(spool_dir), f"sink{i}-{type(sk).__name__}.w{worker}") if spool_dir else None
            for i, sk in enumerate(sinks)
        ]
        self._overflow = _Spool(Path(spool_dir), f"overflow.w{worker}") if spool_dir else None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())
        if any(sp is not None and sp.pending() for sp in [*self.spools, self._overflow]):
            self.queue.put_nowait({"_replay": True})  # wake the drainer to replay the spool

    def emit(self, rec: dict[str, Any]) -> None:
        metrics.AUDIT_QUEUE.set(self.queue.qsize())
        try:
            self.queue.put_nowait(rec)
        except asyncio.QueueFull:
            if self.backpressure == "block":
                self._inline.append(rec)  # written ahead of the queue by the drainer
                return
            if self.backpressure == "spool" and self._overflow is not None:
                self._overflow.add([rec])
                return
            self.dropped += 1
            metrics.AUDIT_DROPPED.inc()

    async def _write_one(self, i: int, sink: Sink, recs: list[dict[str, Any]]) -> None:
        spool = self.spools[i]
        if spool is not None and spool.pending():
            if time.monotonic() < spool.retry_at:
                spool.add(recs)  # keep the order: newer records go behind the spooled ones
                return
            recs = spool.read() + recs
        for attempt in range(3):
            try:
                for j in range(0, len(recs), self.batch):
                    await sink.write(recs[j:j + self.batch])
            except Exception as exc:  # a sink failure must never take the worker down
                if attempt == 2:
                    log.error("audit sink %s failed: %s", type(sink).__name__, exc)
                    if spool is None:
                        self.failed += len(recs)
                        return
                    spool.clear()
                    spool.add(recs)
                    spool.failed()
                    return
                await asyncio.sleep(0.05 * (attempt + 1))
            else:
                if spool is not None:
                    spool.clear()
                return

    async def _flush(self, recs: list[dict[str, Any]]) -> None:
        recs = [r for r in recs if not r.get("_replay")]
        if self._overflow is not None and self._overflow.pending():
            recs = self._overflow.read() + recs
            self._overflow.clear()
        for i, sink in enumerate(self.sinks):
            await self._write_one(i, sink, recs)
        self.written += len(recs)

    async def _run(self) -> None:
        while True:
            try:
                first = await asyncio.wait_for(self.queue.get(), 1.0)
            except TimeoutError:
                if any(sp is not None and sp.pending() and time.monotonic() >= sp.retry_at for sp in self.spools):
                    first = {"_replay": True}  # retry a spooled sink even when nothing new comes
                else:
                    continue
            self._busy = True
            try:
                recs = [*self._inline, first]
                self._inline.clear()
                while len(recs) < self.batch and not self.queue.empty():
                    recs.append(self.queue.get_nowait())
                await self._flush(recs)
            finally:
                self._busy = False

    async def close(self, timeout: float = 10.0) -> None:
        """Drain: every record emitted before close() is written, or spooled (bounded by ``timeout``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (self._busy or not self.queue.empty() or self._inline) and loop.time() < deadline:
            if self._task is None or self._task.done():
                break
            await asyncio.sleep(0.01)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        rest = [*self._inline]
        while not self.queue.empty():
            rest.append(self.queue.get_nowait())
        if rest:
            try:
                await asyncio.wait_for(self._flush(rest), max(0.1, deadline - loop.time()))
            except TimeoutError:
                if self._overflow is not None:
                    self._overflow.add([r for r in rest if not r.get("_replay")])
        for sink in self.sinks:
            with contextlib.suppress(Exception):
                await sink.close()
