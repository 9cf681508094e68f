"""One worker process: an asyncio ICAP listener on a SO_REUSEPORT socket.

SIGTERM/SIGINT: stop accepting, let in-flight requests finish (bounded by ``shutdown_timeout``),
close idle keep-alive connections, exit. SIGHUP: rebuild the inspector (policy reload) off the
event loop and swap it in; requests in flight finish with the version they started with.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from icap_dlp import metrics
from icap_dlp.allowlist import AllowList, RateLimitedLog
from icap_dlp.config import Settings
from icap_dlp.icap import error_response
from icap_dlp.seam import Inspector
from icap_dlp.server._app import Application, tune_heap
from icap_dlp.server._connection import Connection
from icap_dlp.server._gate import Listener
from icap_dlp.server._tls import TlsContextHolder

log = logging.getLogger("icap_dlp.worker")

InspectorFactory = Callable[[Settings, Any], Inspector]
"""``factory(settings, texts)``: ``texts`` is a policy snapshot, or None to read the files."""
_FROM_DISK = object()


def make_socket(host: str, port: int, reuse_port: bool = True) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


class Worker:
    def __init__(self, settings: Settings, factory: InspectorFactory, index: int = 0, texts: Any = None,
                 report: Callable[[tuple[Any, ...]], None] | None = None) -> None:
        self.settings = settings
        self.factory = factory
        self.index = index
        self.report = report  # messages to the master (health), None in-process
        self.decision_sinks: list[Callable[[Any], None]] = []
        self.audit: Any = None
        self._health: dict[str, Any] | None = None
        self.app = Application(settings, self._install(factory(settings, texts)))
        self._wanted: Any = None
        self.connections: dict[asyncio.Task[Any], Connection] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stop = asyncio.Event()
        self._reloading = False
        self.tls = TlsContextHolder.from_settings(settings)
        self.allow = AllowList.from_spec(settings.allow_clients)
        self.refusals = RateLimitedLog()  # one per worker: both listeners share the rate limit

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self.connections) >= self.settings.max_connections or self.app.stopping:
            self.app.stats.rejected_connections += 1
            with contextlib.suppress(ConnectionError, OSError):
                writer.write(error_response(503, self.app.istag, close=True))
                await writer.drain()
            writer.close()
            return
        conn = Connection(self.app, reader, writer)
        task = asyncio.current_task()
        assert task is not None
        self.connections[task] = conn
        self.app.stats.connections += 1
        metrics.CONNECTIONS.inc()
        try:
            await conn.run()
        except asyncio.CancelledError:
            pass  # an idle keep-alive connection closed by a graceful shutdown
        finally:
            metrics.CONNECTIONS.dec()
            self.connections.pop(task, None)

    def _install(self, inspector: Inspector) -> Inspector:
        """The decision sinks (audit) and the audit state belong to the worker and survive reloads."""
        if hasattr(inspector, "sinks"):
            inspector.sinks = self.decision_sinks
        if hasattr(inspector, "audit_storing"):
            inspector.audit_storing = self._audit_storing
        return inspector

    def _audit_storing(self) -> bool:
        return self.audit is None or bool(self.audit.storing)

    def audit_closed(self) -> bool:
        """The policy says requests must stop while their records cannot be stored."""
        failure = getattr(getattr(self.app.inspector, "policy_settings", None), "failure", None)
        return getattr(failure, "audit", None) == "closed"

    def _report_health(self) -> None:
        """Tell the master (its /readyz) how this worker's audit delivery is doing. Sent on change."""
        h = self.audit.health if self.audit is not None else None
        degraded = bool(h is not None and h.degraded)
        storing = bool(h is None or h.storing)
        health = {"audit_degraded": degraded, "audit_storing": storing,
                  "ready": storing or not self.audit_closed()}
        if health == self._health:
            return
        self._health = health
        if self.report is not None:
            try:
                self.report(("health", self.index, health))
            except (OSError, ValueError) as exc:
                log.error("cannot report health to the master: %s", exc)

    def _start_audit(self) -> None:
        s = self.settings
        if not (s.audit_file or s.audit_stdout or s.audit_syslog):
            return
        from icap_dlp.audit import AuditLogger, JsonlFileSink, StdoutSink, SyslogSink, build_record
        from icap_dlp.model import Action

        sinks: list[Any] = []
        if s.audit_file:
            sinks.append(JsonlFileSink(s.audit_file, self.index, rotate_bytes=s.audit_rotate_bytes,
                                       keep=s.audit_keep, fsync_interval=s.audit_fsync_interval,
                                       rotate_seconds=s.audit_rotate_seconds))
        if s.audit_stdout:
            sinks.append(StdoutSink())
        if s.audit_syslog:
            sinks.append(SyslogSink(s.audit_syslog, s.audit_format))
        spool = s.audit_spool_dir
        if spool is None:
            spool = str(Path(s.audit_file).parent / "spool") if s.audit_file else "/var/tmp/icap-dlp-spool"
        self.audit = AuditLogger(sinks, queue_size=s.audit_queue_size, backpressure=s.audit_backpressure,
                                 spool_dir=spool, worker=self.index, block_timeout=s.audit_block_timeout,
                                 on_health=lambda _h: self._report_health())
        self.app.audit = self.audit
        self.audit.start()
        audit = self.audit

        def record(report: Any) -> None:
            clean = report.action is Action.ALLOW and report.intended is Action.ALLOW and not report.failure
            clean = clean and not report.ctx.token_error  # a refused token is always recorded
            if clean and (not s.audit_clean_allows or random.random() >= s.audit_sample_clean):
                return
            audit.emit(build_record(report, worker=self.index, query_mode=s.audit_query))

        self.decision_sinks.append(record)

    async def reload(self, texts: Any = _FROM_DISK) -> None:
        """Build the new version off the event loop, then swap it in. Requests in flight keep the
        version they started with. Reloads asked for meanwhile collapse into the newest one."""
        self._wanted = texts
        self.check_tls(force=True)  # SIGHUP also re-reads the certificate and key
        if self._reloading:
            return
        self._reloading = True
        loop = asyncio.get_running_loop()
        try:
            while self._wanted is not None:
                want, self._wanted = self._wanted, None
                snapshot = None if want is _FROM_DISK else want
                try:
                    inspector = await loop.run_in_executor(None, self.factory, self.settings, snapshot)
                except Exception as exc:  # noqa: BLE001 - keep the last good version, whatever went wrong
                    log.error("reload rejected, keeping the current policy: %s", exc)
                    continue
                old = self.app.istag
                self.app.inspector = self._install(inspector)
                log.info("reloaded", extra={"fields": {"istag_old": old, "istag": inspector.istag}})
                self._report_health()  # the audit failure mode may have changed
        finally:
            self._reloading = False

    def _on_control(self, control: Any) -> None:
        """Messages from the master: ("reload", snapshot)."""
        loop = asyncio.get_running_loop()
        try:
            msg = control.recv()
        except (EOFError, OSError):
            loop.remove_reader(control.fileno())
            return
        if isinstance(msg, tuple) and msg and msg[0] == "reload":
            self._spawn(self.reload(msg[1]))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)  # a reference until done (the loop keeps only weak ones)
        task.add_done_callback(self._tasks.discard)

    def stop(self) -> None:
        self._stop.set()

    # -- listeners: allow-list and ICAPS ----------------------------------------------------
    def check_tls(self, force: bool = False) -> None:
        if self.tls is None:
            return
        failures = self.tls.failures
        if self.tls.check(force):
            metrics.TLS_RELOADS.labels("ok").inc()
        elif self.tls.failures > failures:
            metrics.TLS_RELOADS.labels("rejected").inc()

    async def _watch_tls(self) -> None:
        while True:
            await asyncio.sleep(self.settings.tls_reload_interval)
            self.check_tls()

    async def _listen(self, sock: socket.socket | None, tls: TlsContextHolder | None) -> list[asyncio.Server]:
        if sock is None:
            return []
        sock.listen(1024)
        sock.setblocking(False)
        listener = Listener(self._client, self.allow, tls, handshake_timeout=self.settings.header_timeout,
                            refusals=self.refusals, open_connections=lambda: len(self.connections),
                            max_connections=self.settings.max_connections)
        return [await asyncio.get_running_loop().create_server(listener.protocol, sock=sock)]

    async def serve(self, sock: socket.socket | None, on_ready: Callable[[], None] | None = None,
                    control: Any = None, tls_sock: socket.socket | None = None) -> None:
        loop = asyncio.get_running_loop()
        if control is not None:
            loop.add_reader(control.fileno(), self._on_control, control)
        servers = await self._listen(sock, None) + await self._listen(tls_sock, self.tls)
        watch_tls = loop.create_task(self._watch_tls()) if self.tls is not None and tls_sock else None
        self._start_audit()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGTERM, self.stop)
            loop.add_signal_handler(signal.SIGINT, self.stop)
            loop.add_signal_handler(signal.SIGHUP, lambda: self._spawn(self.reload()))
        if on_ready:
            on_ready()
        self._report_health()  # after "ready": the master reads start-up messages first
        await self._stop.wait()
        if watch_tls is not None:
            watch_tls.cancel()
        await self._shutdown(servers)

    async def _shutdown(self, servers: list[asyncio.Server]) -> None:
        self.app.stopping = True
        for server in servers:
            server.close()
        for task, conn in list(self.connections.items()):
            if not conn.busy:
                task.cancel()
        pending = list(self.connections)
        if pending:
            _, still = await asyncio.wait(pending, timeout=self.settings.shutdown_timeout)
            for task in still:
                task.cancel()
            if still:
                await asyncio.wait(still, timeout=2)
        for server in servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)
        if self.audit is not None:
            await self.audit.close()
        self.app.close()


def listen_sockets(settings: Settings) -> tuple[socket.socket | None, socket.socket | None]:
    """The plain ICAP socket (unless ``--no-plain-icap``) and the ICAPS one (when TLS is set)."""
    plain = make_socket(settings.host, settings.port) if settings.plain_icap else None
    port = settings.effective_tls_port
    return plain, (make_socket(settings.host, port) if port is not None else None)


def run_worker(settings: Settings, factory: InspectorFactory, index: int,
               sock: socket.socket | None = None, on_ready: Callable[[], None] | None = None,
               texts: Any = None, control: Any = None, tls_sock: socket.socket | None = None,
               report: Callable[[tuple[Any, ...]], None] | None = None) -> None:
    """Entry point of a worker process (also used in-process by tests)."""
    tune_heap()
    if sock is None and tls_sock is None:
        sock, tls_sock = listen_sockets(settings)

    async def main() -> None:
        worker = Worker(settings, factory, index, texts, report)
        await worker.serve(sock, on_ready, control, tls_sock)

    if settings.uvloop:
        try:
            import uvloop
        except ImportError:
            asyncio.run(main())
        else:
            uvloop.run(main())
    else:
        asyncio.run(main())
