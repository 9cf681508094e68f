"""Prometheus metrics and the health listener.

Workers are separate processes, so prometheus_client runs in multiprocess mode: the master sets
``PROMETHEUS_MULTIPROC_DIR`` to a fresh directory before any worker starts (and before this module
is imported), every process records into it, and the master's ``/metrics`` aggregates them.
Without the listener the metrics are plain per-process values that nobody reads.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess as mp

log = logging.getLogger("icap_dlp.metrics")

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter("icap_dlp_requests", "ICAP REQMOD/RESPMOD transactions",
                   ["method", "service", "decision", "status"])
LATENCY = Histogram("icap_dlp_request_seconds", "Time from request head to answer sent", ["method"],
                    buckets=LATENCY_BUCKETS)
STAGE = Histogram("icap_dlp_stage_seconds", "Time per pipeline stage", ["stage"], buckets=LATENCY_BUCKETS)
BYTES = Counter("icap_dlp_bytes_inspected", "Decoded text bytes inspected")
FINDINGS = Counter("icap_dlp_findings", "Findings that triggered a rule", ["detector"])
FAILURES = Counter("icap_dlp_failures", "Fail-open/closed answers", ["reason", "mode"])
SKIPPED = Counter("icap_dlp_skipped", "Bodies not inspected on purpose (a skipped type, a sniffed binary)",
                  ["reason"])
RELOADS = Counter("icap_dlp_policy_reloads", "Policy reloads", ["result"])
CONNECTIONS = Gauge("icap_dlp_active_connections", "Open ICAP connections", multiprocess_mode="livesum")
AUDIT_QUEUE = Gauge("icap_dlp_audit_queue_depth", "Audit records waiting for the sinks",
                    multiprocess_mode="livesum")
INSPECTION_QUEUE = Gauge("icap_dlp_inspection_queue_depth",
                         "Inspections queued for or running on the workers' NER inspection threads",
                         multiprocess_mode="livesum")
AUDIT_DROPPED = Counter("icap_dlp_audit_dropped", "Audit records dropped (backpressure: drop)")
AUDIT_SPOOLED = Counter("icap_dlp_audit_spooled", "Audit records written to the disk spool")
AUDIT_ERRORS = Counter("icap_dlp_audit_errors", "Audit delivery errors (sink: file, syslog, stdout, spool, "
                       "drainer; reason: errno name or exception type)", ["sink", "reason"])
AUDIT_DEGRADED = Gauge("icap_dlp_audit_degraded", "1 while an audit sink is failing in any worker (records wait "
                       "in the spool or in memory)", multiprocess_mode="livemax")


_CHILDREN: dict[tuple[Any, ...], Any] = {}


def _child(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, cached: label lookups took a lock per call on every request.

    Label values come from configuration and closed sets (methods, services, actions, status
    codes, stages, detector ids), so the cache stays small.
    """
    key = (id(metric), *labels)
    c = _CHILDREN.get(key)
    if c is None:
        c = _CHILDREN[key] = metric.labels(*labels)
    return c


_PER_REQUEST: dict[tuple[Any, ...], tuple[Any, Any]] = {}


def observe(report: Any, elapsed: float) -> None:
    """Account for one finished transaction (see icap_dlp.adapter.Report)."""
    req = report.request
    key = (req.method, req.service, report.action, report.status)
    per = _PER_REQUEST.get(key)
    if per is None:  # the request counter and latency histogram of this label set, looked up once
        method = req.method.value
        per = _PER_REQUEST[key] = (_child(REQUESTS, method, req.service, report.action.value, str(report.status)),
                                   _child(LATENCY, method))
    per[0].inc()
    per[1].observe(elapsed)
    observe_identity(report.ctx)
    if report.failure:
        reason, _, mode = report.failure.partition(":")
        _child(FAILURES, reason, mode).inc()
    skipped = getattr(report, "skipped", None)
    if skipped:  # "type:<media type>" is counted as "type" (label values stay a closed set)
        _child(SKIPPED, "type" if skipped.startswith("type:") else skipped).inc()
    res = report.result
    if res is None:
        return
    BYTES.inc(res.bytes_inspected)
    for stage, seconds in vars(res.timings).items():  # decode, parse, detect, ner, redact
        if seconds:
            _child(STAGE, stage).observe(seconds)
    findings = res.decision.findings
    if findings:  # one increment per detector, by its count
        per_detector: dict[str, int] = {}
        for lf in findings:
            d = lf.finding.detector_id
            per_detector[d] = per_detector.get(d, 0) + 1
        for d, n in per_detector.items():
            _child(FINDINGS, d).inc(n)


def audit_error(sink: str, reason: str) -> None:
    _child(AUDIT_ERRORS, sink, reason).inc()


def registry() -> CollectorRegistry:
    reg = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        mp.MultiProcessCollector(reg)  # type: ignore[no-untyped-call]
    return reg


def process_dead(pid: int) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        mp.mark_process_dead(pid)  # type: ignore[no-untyped-call]


ReadyCheck = Callable[[], tuple[bool, dict[str, Any]]]


def scrape(attempts: int = 3) -> bytes | None:
    """The aggregated metrics text. A worker may be growing its metrics file while the master
    reads it (prometheus_client then raises "Read beyond file size"): read again, a few times,
    then give up with None (the handler answers 500) instead of dropping the connection."""
    for i in range(attempts):
        try:
            return generate_latest(registry())
        except Exception:  # any read failure: retry, then a logged 500
            if i == attempts - 1:
                log.exception("metrics scrape failed")
            else:
                time.sleep(0.005 * (i + 1))
    return None


def start_server(host: str, port: int, ready: ReadyCheck) -> ThreadingHTTPServer:
    """``/metrics`` (Prometheus text format), ``/healthz`` (alive), ``/readyz`` (serving)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt: str, *args: object) -> None:
            pass

        def _send(self, code: int, body: bytes, ctype: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                body = scrape()
                if body is None:
                    self._send(500, b"metrics unavailable, see the server log\n", "text/plain")
                else:
                    self._send(200, body, "text/plain; version=0.0.4; charset=utf-8")
            elif path == "/healthz":
                self._send(200, b'{"status":"alive"}', "application/json")
            elif path == "/readyz":
                ok, detail = ready()
                body = json.dumps({"status": "ready" if ok else "not ready", **detail}).encode()
                self._send(200 if ok else 503, body, "application/json")
            else:
                self._send(404, b"not found\n", "text/plain")

    srv = ThreadingHTTPServer((host, port), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, name="icap-dlp-metrics", daemon=True).start()
    log.info("metrics listening", extra={"fields": {"address": f"http://{host}:{srv.server_address[1]}"}})
    return srv


# -- enterprise deployment: client allow-list, ICAPS, identity (issue 15) --------------------------
CLIENTS_REFUSED = Counter("icap_dlp_clients_refused",
                          "Connections closed before any ICAP byte: not_allowed (--allow-clients), "
                          "tls_handshake (no/invalid client certificate, no common protocol or suite), "
                          "tls_closed (the client left before finishing the handshake), busy (--max-connections "
                          "reached by connections and TLS handshakes)", ["reason"])
TLS_RELOADS = Counter("icap_dlp_tls_reloads", "TLS certificate reloads", ["result"])
IDENTITY = Counter("icap_dlp_identity", "Transactions by identity source (jwt, proxy, none) and, for a "
                   "presented token that gave no identity, why (expired, bad signature ...)", ["source", "token_error"])


def observe_identity(ctx: Any) -> None:
    if ctx is not None:
        _child(IDENTITY, ctx.identity_source or "none", ctx.token_error or "").inc()
