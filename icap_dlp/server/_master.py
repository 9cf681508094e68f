"""The master process: checks the configuration, starts N workers sharing the port (SO_REUSEPORT),
forwards SIGTERM/SIGINT/SIGHUP to them and restarts a worker that dies unexpectedly.
"""

from __future__ import annotations

import errno
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from icap_dlp._logging import setup_logging
from icap_dlp.config import Settings
from icap_dlp.errors import ConfigError
from icap_dlp.server._tls import TlsContextHolder
from icap_dlp.server._worker import InspectorFactory, make_socket, run_worker

log = logging.getLogger("icap_dlp.master")


def _worker_entry(settings_data: dict[str, Any], factory: InspectorFactory, index: int,
                  ready: multiprocessing.connection.Connection, texts: Any,
                  control: multiprocessing.connection.Connection) -> None:
    settings = Settings.model_validate(settings_data)
    setup_logging(settings.log_level)
    # The master handles SIGINT from a terminal; the worker stops on the SIGTERM it forwards.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def on_ready() -> None:
        ready.send(("ready", index, os.getpid()))

    # ``ready`` stays open after start-up: the worker reports its health on it (audit delivery
    # state), which the master's /readyz reads. The control pipe carries the other direction.
    try:
        run_worker(settings, factory, index, on_ready=on_ready, texts=texts, control=control, report=ready.send)
    except ConfigError as exc:
        ready.send(("error", index, str(exc)))
        sys.exit(2)


def _snapshot(paths: list[Path]) -> tuple[tuple[str, int, int], ...]:
    """(path, mtime_ns, size) of every file under ``paths``: cheap change detection."""
    out = []
    for root in paths:
        files = sorted(root.rglob("*")) if root.is_dir() else [root]
        for f in files:
            try:
                st = f.stat()
            except OSError:
                continue
            if f.is_file():
                out.append((str(f), st.st_mtime_ns, st.st_size))
    return tuple(out)


class Master:
    def __init__(self, settings: Settings, factory: InspectorFactory,
                 watch: list[Path] | None = None, watch_interval: float = 1.0,
                 snapshot: Callable[[Settings], Any] | None = None) -> None:
        self.settings = settings
        self.factory = factory
        self.ctx = multiprocessing.get_context("spawn")
        self.workers: dict[int, BaseProcess] = {}
        self.stopping = False
        self._wake = threading.Event()
        self._hup = False
        self._restarts: list[float] = []
        self.reloads = 0
        self.reload_failures = 0
        self.snapshot = snapshot or (lambda settings: None)
        self.texts: Any = None
        self.controls: dict[int, multiprocessing.connection.Connection] = {}
        self.status: dict[int, multiprocessing.connection.Connection] = {}  # worker -> master
        self.health: dict[int, dict[str, Any]] = {}
        self.watch = watch or []
        self.watch_interval = watch_interval
        self._snap = _snapshot(self.watch)
        self._last_watch = time.monotonic()

    def _check_port(self, port: int | None = None, field: str = "port") -> int:
        """Fail fast, with a clear message, when the address is taken; resolve port 0."""
        port = self.settings.port if port is None else port
        try:
            probe = make_socket(self.settings.host, port, reuse_port=False)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(f"{self.settings.host}:{port} is already in use", field=field) from exc
            raise ConfigError(f"cannot listen on {self.settings.host}:{port}: {exc.strerror}",
                              field="host") from exc
        port = int(probe.getsockname()[1])
        probe.close()
        return port

    def _check_listeners(self) -> list[str]:
        """Probe the plain and ICAPS ports, load the TLS files once (a bad certificate stops
        start-up with its file name), pin resolved ports; return the listening addresses."""
        update: dict[str, int] = {}
        addresses = []
        if self.settings.plain_icap:
            update["port"] = self._check_port()
            addresses.append(f"icap://{self.settings.host}:{update['port']}")
        tls_port = self.settings.effective_tls_port
        if tls_port is not None:
            TlsContextHolder.from_settings(self.settings)
            update["tls_port"] = self._check_port(tls_port, "tls_port")
            addresses.append(f"icaps://{self.settings.host}:{update['tls_port']}"
                             + (" (client certificates required)" if self.settings.tls_client_ca else ""))
        self.settings = self.settings.model_copy(update=update)
        return addresses

    def _spawn(self, index: int, timeout: float = 120.0) -> None:
        recv, send = self.ctx.Pipe(duplex=False)
        ctl_recv, ctl_send = self.ctx.Pipe(duplex=False)
        proc = self.ctx.Process(
            target=_worker_entry,
            args=(self.settings.model_dump(), self.factory, index, send, self.texts, ctl_recv),
            name=f"icap-dlp-worker-{index}", daemon=False,
        )
        proc.start()
        send.close()
        ctl_recv.close()
        old = self.controls.pop(index, None)
        if old is not None:
            old.close()
        self.controls[index] = ctl_send
        self.workers[index] = proc
        if not recv.poll(timeout):
            raise RuntimeError(f"worker {index} did not start within {timeout:.0f} s")
        try:
            msg = recv.recv()
        except EOFError:
            raise RuntimeError(f"worker {index} exited during start-up (code {proc.exitcode})") from None
        if msg[0] == "error":
            raise ConfigError(msg[2])
        old_status = self.status.pop(index, None)
        if old_status is not None:
            old_status.close()
        self.status[index] = recv
        self.health.pop(index, None)

    def _read_status(self, timeout: float) -> None:
        """Wait up to ``timeout`` for health reports from the workers and keep the latest."""
        try:
            ready = multiprocessing.connection.wait(list(self.status.values()), timeout)
        except OSError:
            return
        for index, conn in list(self.status.items()):
            if conn not in ready:
                continue
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                self.status.pop(index, None)  # the worker died: _reap restarts it
                continue
            if isinstance(msg, tuple) and len(msg) == 3 and msg[0] == "health":
                before = self.health.get(index)
                healthy = msg[2].get("ready") and not msg[2].get("audit_degraded")
                if msg[2] != before and (before is not None or not healthy):
                    log.warning("worker health changed", extra={"fields": {"worker": index, **msg[2]}})
                self.health[index] = msg[2]

    def run(self, on_ready: Callable[[], None] | None = None) -> int:
        addresses = self._check_listeners()
        # Validate the policy once here so a bad file stops start-up with its file:line message;
        # every worker then builds exactly this snapshot.
        self.texts = self.snapshot(self.settings)
        self.factory(self.settings, self.texts)
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_hup)
        n = self.settings.worker_count
        try:
            for i in range(n):
                self._spawn(i)
        except (ConfigError, RuntimeError):
            self._terminate_all()
            raise
        log.info(
            "listening", extra={"fields": {"address": ", ".join(addresses),
                                           "workers": n, "pid": os.getpid()}},
        )
        http = None
        if self.settings.metrics_port is not None:
            from icap_dlp import metrics

            http = metrics.start_server(self.settings.metrics_host, self.settings.metrics_port, self.ready)
        if on_ready:
            on_ready()
        while not self.stopping:
            if self.status:
                self._read_status(0.2)
            else:
                self._wake.wait(0.2)
            self._wake.clear()
            if self.watch and time.monotonic() - self._last_watch >= self.watch_interval:
                self._last_watch = time.monotonic()
                snap = _snapshot(self.watch)
                if snap != self._snap:
                    self._snap = snap
                    log.info("policy or detector files changed")
                    self._hup = True
            if self._hup:
                self._hup = False
                self._reload()
            if not self.stopping:
                self._reap()
        if http is not None:
            http.shutdown()
        return self._terminate_all()

    def ready(self) -> tuple[bool, dict[str, Any]]:
        """Ready while every worker is up with a policy and none reports that it must refuse
        traffic (``settings.failure.audit: closed`` while it cannot store audit records). A
        failing audit sink under ``audit: open`` keeps readiness (one SIEM outage must not take
        every instance out of service); the gauge ``icap_dlp_audit_degraded`` alerts instead."""
        alive = sum(1 for p in self.workers.values() if p.is_alive())
        health = dict(self.health)
        workers_ready = all(h.get("ready", True) for h in health.values())
        ok = (not self.stopping and alive == self.settings.worker_count and self.texts is not None
              and workers_ready)
        return ok, {"workers_alive": alive, "workers": self.settings.worker_count, "stopping": self.stopping,
                    "audit_degraded": any(h.get("audit_degraded") for h in health.values()),
                    "audit_storing": all(h.get("audit_storing", True) for h in health.values()),
                    "policy_reloads": self.reloads, "policy_reload_failures": self.reload_failures}

    def _count_reload(self, result: str) -> None:
        if self.settings.metrics_port is not None:
            from icap_dlp import metrics

            metrics.RELOADS.labels(result).inc()

    def _dead(self, pid: int | None) -> None:
        if pid and self.settings.metrics_port is not None:
            from icap_dlp import metrics

            metrics.process_dead(pid)

    def _reload(self) -> None:
        """Validate the new version here first; only a valid one is sent to the workers, as the
        same snapshot of the files, so every worker runs exactly what was checked."""
        try:
            texts = self.snapshot(self.settings)
            self.factory(self.settings, texts)
        except ConfigError as exc:
            self.reload_failures += 1
            self._count_reload("rejected")
            log.error("reload rejected, the last good policy stays active: %s", exc.render())
            return
        except Exception as exc:  # noqa: BLE001 - any failure to build it rejects the new version
            self.reload_failures += 1
            self._count_reload("rejected")
            log.error("reload rejected, the last good policy stays active: %s", exc)
            return
        self.reloads += 1
        self._count_reload("ok")
        self.texts = texts
        log.info("reloading in every worker")
        for index, proc in self.workers.items():
            if proc.is_alive():
                try:
                    self.controls[index].send(("reload", texts))
                except (OSError, ValueError) as exc:
                    log.error("cannot reach worker %d: %s", index, exc)

    def _reap(self) -> None:
        for index, proc in list(self.workers.items()):
            if proc.is_alive() or self.stopping:
                continue
            self._dead(proc.pid)
            now = time.monotonic()
            self._restarts = [t for t in self._restarts if now - t < 60]
            log.error("worker exited unexpectedly; restarting",
                      extra={"fields": {"worker": index, "exitcode": proc.exitcode}})
            if len(self._restarts) >= 10:
                log.error("workers keep dying; giving up")
                self.stopping = True
                return
            self._restarts.append(now)
            try:
                self._spawn(index)
            except (ConfigError, RuntimeError) as exc:
                log.error("restart failed: %s", exc)

    def _terminate_all(self) -> int:
        for proc in self.workers.values():
            if proc.pid and proc.is_alive():
                os.kill(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.settings.shutdown_timeout + 5
        for proc in self.workers.values():
            proc.join(max(0.1, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join(2)
            self._dead(proc.pid)
        log.info("stopped")
        return 0

    def _on_stop(self, signum: int, frame: object) -> None:
        self.stopping = True
        self._wake.set()

    def _on_hup(self, signum: int, frame: object) -> None:
        self._hup = True
        self._wake.set()
