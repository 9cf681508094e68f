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


class JsonlFileSink:
    def __init__(self, path: str, worker: int, *, rotate_bytes: int = 100 * 1024 * 1024, keep: int = 10,
                 fsync_interval: float = 1.0) -> None:
        p = Path(path)
        self.path = p.with_name(f"{p.stem}.w{worker}{p.suffix or '.jsonl'}")
        self.rotate_bytes = rotate_bytes
        self.keep = keep
        self.fsync_interval = fsync_interval
        self._f: Any = None
        self._size = 0
        self._last_sync = time.monotonic()

    async def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f = await aiofiles.open(self.path, "a", encoding="utf-8")
        self._size = self.path.stat().st_size

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
        if self._size >= self.rotate_bytes:
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
    """RFC 5424 over UDP (one datagram per record) or TCP (octet-counting framing, RFC 6587)."""

    def __init__(self, url: str, fmt: str = "json", app: str = "icap-dlp") -> None:
        u = urlsplit(url)
        if u.scheme not in ("udp", "tcp") or not u.hostname:
            raise ValueError(f"syslog URL must be udp://host:port or tcp://host:port, not {url!r}")
        self.proto = u.scheme
        self.addr = (u.hostname, u.port or 514)
        self.fmt = fmt
        self.app = app
        self.host = socket.gethostname()
        self._udp: socket.socket | None = None
        self._writer: asyncio.StreamWriter | None = None

    def _frame(self, rec: dict[str, Any]) -> bytes:
        msg = to_cef(rec) if self.fmt == "cef" else to_json(rec)
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
            _, self._writer = await asyncio.open_connection(*self.addr)
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


class AuditLogger:
    def __init__(self, sinks: list[Sink], *, queue_size: int = 10000, backpressure: str = "drop",
                 batch: int = 256) -> None:
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

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def emit(self, rec: dict[str, Any]) -> None:
        metrics.AUDIT_QUEUE.set(self.queue.qsize())
        try:
            self.queue.put_nowait(rec)
        except asyncio.QueueFull:
            if self.backpressure == "block":
                self._inline.append(rec)  # written ahead of the queue by the drainer
                return
            self.dropped += 1
            metrics.AUDIT_DROPPED.inc()

    async def _flush(self, recs: list[dict[str, Any]]) -> None:
        for sink in self.sinks:
            for attempt in range(3):
                try:
                    await sink.write(recs)
                    break
                except Exception as exc:  # a sink failure must never take the worker down
                    if attempt == 2:
                        self.failed += len(recs)
                        log.error("audit sink failed: %s", exc)
                    await asyncio.sleep(0.05 * (attempt + 1))
        self.written += len(recs)

    async def _run(self) -> None:
        while True:
            first = await self.queue.get()
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
        """Drain: every record emitted before close() is written (bounded by ``timeout``)."""
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
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flush(rest), timeout)
        for sink in self.sinks:
            with contextlib.suppress(Exception):
                await sink.close()
