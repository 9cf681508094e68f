"""The inspector the server runs: plugs the DLP pipeline into the server's seam.

It decides from headers how a body flows (skip / buffer / stream), turns a pipeline result into
an ICAP outcome, applies the failure policy, and reports each decision (audit + metrics).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from icap_dlp import content, metrics
from icap_dlp.config import Settings, default_policy_path
from icap_dlp.content import McpInfo
from icap_dlp.context import build_context, encode_context
from icap_dlp.errors import failure_reason
from icap_dlp.icap import Headers, HttpRequestHead, HttpResponseHead, IcapRequest, Method
from icap_dlp.inspection import (
    Bundle,
    MessageResult,
    SniffStream,
    SseInspector,
    block_body,
    inspect_message,
    load_bundle,
    new_incident_id,
    query_segments,
)
from icap_dlp.model import Action, Direction, RequestContext
from icap_dlp.policy import GlobalSettings, PolicyTexts, read_policy_texts
from icap_dlp.seam import (
    Inspector,
    Outcome,
    Plan,
    Replace,
    StreamPlan,
    Unmodified,
    echo_stream_plan,
)

log = logging.getLogger("icap_dlp.adapter")

DecisionSink = Callable[["Report"], None]


@dataclass
class Report:
    """What the audit and metrics sinks receive for one ICAP transaction (no values)."""

    incident: str
    request: IcapRequest
    ctx: RequestContext
    bundle: Bundle
    result: MessageResult | None = None
    action: Action = Action.ALLOW
    intended: Action = Action.ALLOW
    failure: str | None = None
    skipped: str | None = None  # not inspected on purpose: "type:<media type>" or "binary:<format>"
    status: int = 0
    started: float = field(default_factory=time.perf_counter)
    finished_at: float = 0.0


class DlpTransaction:
    def __init__(self, inspector: DlpInspector, request: IcapRequest, client: str | None) -> None:
        self.inspector = inspector
        self.bundle = inspector.bundle  # pinned: a reload does not change a request in flight
        self.settings = inspector.settings
        self.request = request
        self.incident = new_incident_id()
        self.ctx = build_context(request, client, self.bundle.policy.settings, self.bundle.verify_keys,
                                 self.bundle.identity)
        self.report = Report(self.incident, request, self.ctx, self.bundle)
        head = self._head()
        self.content_type = head.headers.get("Content-Type") if head is not None else None
        self.content_encoding = head.headers.get("Content-Encoding") if head is not None else None
        self.kind = content.classify(self.content_type, self.settings.skip_types)
        # A response to an MCP request is inspected whatever its declared type says.
        self.mcp_exchange = _mcp_exchange(request)
        if self.mcp_exchange and self.kind is content.BodyKind.SKIP:
            self.kind = content.BodyKind.SNIFF
        self.accept = request.http_request.headers.get("Accept") if request.http_request else None
        self._sse: SseInspector | SniffStream | None = None
        # NER holds the CPU for up to its budget per message: the server runs it off the event loop.
        self.heavy = bool(getattr(self.bundle.engine, "needs_ner", False))

    def _head(self) -> HttpRequestHead | HttpResponseHead | None:
        if self.request.method is Method.RESPMOD:
            return self.request.http_response
        return self.request.http_request

    # -- the seam ---------------------------------------------------------------------------
    def _audit_stopped(self) -> bool:
        """``settings.failure.audit: closed`` while this worker cannot store audit records."""
        return (self.bundle.policy.settings.failure.audit == "closed"
                and not self.inspector.audit_storing())

    def plan(self) -> Plan:
        if self._audit_stopped() and self.settings.audit_clean_allows:
            return Plan.BUFFER  # even a clean allow would produce a record: decide() blocks it
        if self.kind is content.BodyKind.SKIP:
            self.report.skipped = "type:" + content.media_type(self.content_type)
            return Plan.SKIP
        is_reqmod_json = self.ctx.direction is Direction.REQMOD and self.kind is content.BodyKind.JSON
        if not is_reqmod_json and not self.bundle.policy.could_apply(self.ctx):
            return Plan.SKIP
        if self.kind is content.BodyKind.SSE and _identity(self.content_encoding) and not self._audit_stopped():
            return Plan.STREAM
        if self.kind is content.BodyKind.SNIFF and _identity(self.content_encoding) and self.content_type:
            # A declared generic type (application/octet-stream ...): the first bytes decide, and
            # a binary streams on, never held (Squid bug 5352, see the README). Without any type
            # the body is buffered and sniffed whole, as text was before.
            return Plan.STREAM
        return Plan.BUFFER

    def decide(self, body: bytes) -> Outcome:
        if not body and not self.request.has_body and not query_segments(self.ctx):
            return Unmodified(self._headers(Action.ALLOW, []))
        try:
            result = inspect_message(
                self.bundle, self.ctx, body, content_type=self.content_type,
                content_encoding=self.content_encoding, accept=self.accept, incident=self.incident,
                skip_types=self.settings.skip_types, fail_default=self._fail_default,
                sniff_always=self.mcp_exchange,
            )
        except Exception as exc:  # noqa: BLE001 - never an allow: the failure policy answers (logged inside)
            return self.fail(failure_reason(exc))
        return self._outcome(result)

    def offload(self, size: int) -> bool:
        # Regex inspection costs about 0.1 s per MB of log-like text and up to seconds per MB of
        # dense values (rows of emails, number arrays): on the event loop it would hold every other
        # connection of this worker that long. A compressed body may inflate up to the decoded-size
        # cap, so a smaller one already goes.
        limit = self.settings.offload_body_bytes
        if not _identity(self.content_encoding):
            limit //= 16
        return self.heavy or size >= limit

    def _fail_default(self, reason: str) -> str:
        return self.settings.on_oversize if reason == "oversize" else self.settings.on_error

    def stream(self) -> StreamPlan:
        sse: SseInspector | SniffStream
        if self.kind is content.BodyKind.SNIFF:
            sse = SniffStream(self.bundle, self.ctx, self.incident, self.accept,
                              max_bytes=self.settings.max_body_bytes)
        else:
            sse = SseInspector(self.bundle, self.ctx, self.incident, self.accept)
        sse.fail_default = self._fail_default
        self._sse = sse
        plan = echo_stream_plan(self.request)
        head = plan.http_response or plan.http_request
        if head is not None:
            h = head.headers.copy()
            h.remove("Content-Length")
            plan = StreamPlan(
                plan.http_request if plan.http_response is None else None,
                _with_headers(plan.http_response, h) if plan.http_response else None,
                sse, (("X-DLP-Incident", self.incident),), heavy=self.heavy,
            )
            if plan.http_response is None and plan.http_request is not None:
                plan.http_request = _with_headers(plan.http_request, h)
        return plan

    def fail(self, reason: str, mcp: McpInfo | None = None) -> Outcome:
        """Answer a message that could not be (wholly) inspected by the failure policy for ``reason``.

        ``open`` passes it unchanged, ``closed`` blocks it (a JSON-RPC error for the same id when
        ``mcp`` is known); either way the header and the audit record name the reason and mode.
        """
        mode = self.bundle.policy.failure_mode(reason, self.ctx, self._fail_default(reason))
        if mode == "open" and self._audit_stopped():
            reason, mode = "audit", "closed"  # an audited fail-open needs a record it can't store
        self.report.failure = f"{reason}:{mode}"
        if mode == "open":
            self.report.action = Action.ALLOW
            return Unmodified(self._headers(Action.ALLOW, [], failure=self.report.failure))
        self.report.action = self.report.intended = Action.BLOCK
        body, ctype, status = block_body(self.bundle, mcp, self.incident, self.accept)
        return self._block_outcome(body, ctype, status, [], close=reason == "oversize" and mcp is None)

    def skip_headers(self) -> tuple[tuple[str, str], ...]:
        return (("X-DLP-Decision", "allow"), ("X-DLP-Incident", self.incident))

    def finished(self, status: int) -> None:
        self.report.status = status
        self.report.finished_at = time.perf_counter()
        if self._sse is not None:
            # A streamed body's decision is the stream's, known only now: metrics and the audit
            # record both read it from here.
            try:
                res = self._sse.summary()
            except Exception:
                log.exception("stream summary failed")
                self.report.failure = self.report.failure or "internal:unknown"
            else:
                self.report.result = res
                self.report.skipped = res.skipped
                self.report.action = res.decision.action
                self.report.intended = res.decision.intended
                self.report.failure = self._sse.failure
        try:
            metrics.observe(self.report, self.report.finished_at - self.report.started)
        except Exception:
            log.exception("metrics failed")
        for sink in self.inspector.sinks:
            try:
                sink(self.report)
            except Exception:
                log.exception("decision sink failed")

    # -- outcomes ---------------------------------------------------------------------------
    def _headers(self, action: Action, rules: list[str], *, intended: Action | None = None,
                 failure: str | None = None) -> tuple[tuple[str, str], ...]:
        out = [("X-DLP-Decision", action.value), ("X-DLP-Incident", self.incident)]
        if rules:
            out.append(("X-DLP-Rules", ",".join(rules)))
        if intended is not None and intended is not action:
            out.append(("X-DLP-Intended", intended.value))
        if failure:
            out.append(("X-DLP-Failure", failure))
        if self.ctx.direction is Direction.REQMOD:
            mcp = self.report.result.mcp if self.report.result is not None else None
            data: dict[str, str] = {}
            if mcp is not None:
                if mcp.method:
                    data["m"] = mcp.method
                if mcp.tool:
                    data["t"] = mcp.tool
            if data:
                name = self.bundle.policy.settings.context_header
                out.append((name, encode_context(data, self.bundle.key)))
        return tuple(out)

    def _outcome(self, result: MessageResult) -> Outcome:
        self.report.result = result
        self.report.skipped = result.skipped
        if result.gaps:
            # Parts that could not be inspected: one closed gap blocks the whole message; open
            # gaps let the inspected rest be answered, and the record and headers say so.
            modes = [g.mode or self.bundle.policy.failure_mode(g.reason, self.ctx, self._fail_default(g.reason))
                     for g in result.gaps]
            result.gaps = [replace(g, mode=m) for g, m in zip(result.gaps, modes, strict=True)]
            closed = [g for g in result.gaps if g.mode == "closed"]
            if closed:
                return self.fail(closed[0].reason, result.mcp)
            self.report.failure = f"{result.gaps[0].reason}:open"
        d = result.decision
        clean = d.action is Action.ALLOW and d.intended is Action.ALLOW
        if (not clean or self.settings.audit_clean_allows) and self._audit_stopped():
            return self.fail("audit")
        self.report.action, self.report.intended = d.action, d.intended
        hdrs = self._headers(d.action, d.rules, intended=d.intended, failure=self.report.failure)
        if d.action is Action.BLOCK and result.body is not None:
            return self._block_outcome(result.body, result.content_type or "application/json",
                                       result.status or 200, d.rules)
        if d.action is Action.REDACT and result.body is not None:
            head = self._head()
            assert head is not None
            h = head.headers.copy()
            h.remove("Content-Encoding")
            h.remove("Transfer-Encoding")
            h.set("Content-Length", str(len(result.body)))
            if self.request.method is Method.RESPMOD:
                assert self.request.http_response is not None
                return Replace(http_response=_with_headers(self.request.http_response, h), body=result.body,
                               icap_headers=hdrs)
            assert self.request.http_request is not None
            return Replace(http_request=_with_headers(self.request.http_request, h), body=result.body,
                           icap_headers=hdrs)
        return Unmodified(hdrs)

    def _block_outcome(self, body: bytes, ctype: str, status: int, rules: list[str],
                       close: bool = False) -> Outcome:
        reason = "OK" if status == 200 else "Forbidden"
        h = Headers([("Content-Type", ctype), ("Content-Length", str(len(body))),
                     ("Cache-Control", "no-store"), ("X-DLP-Incident", self.incident)])
        version = "HTTP/1.1"
        if self.request.http_response is not None:
            version = self.request.http_response.version
        resp = HttpResponseHead(version, status, reason, h)
        hdrs = self._headers(Action.BLOCK, rules, failure=self.report.failure)
        return Replace(http_response=resp, body=body, icap_headers=hdrs, close=close)


def _mcp_exchange(request: IcapRequest) -> bool:
    """RESPMOD of an MCP exchange: an Mcp-Session-Id, or a JSON POST / one accepting an event stream."""
    req = request.http_request
    if request.method is not Method.RESPMOD or req is None:
        return False
    if req.headers.get("Mcp-Session-Id"):
        return True
    if req.method.upper() != "POST":
        return False
    accept = (req.headers.get("Accept") or "").lower()
    return "text/event-stream" in accept or "json" in (req.headers.get("Content-Type") or "").lower()


def _identity(encoding: str | None) -> bool:
    return not encoding or encoding.strip().lower() == "identity"


def _with_headers(head: Any, headers: Headers) -> Any:
    if isinstance(head, HttpResponseHead):
        return HttpResponseHead(head.version, head.status, head.reason, headers)
    return HttpRequestHead(head.method, head.target, head.version, headers)


class DlpInspector:
    def __init__(self, settings: Settings, bundle: Bundle, sinks: list[DecisionSink] | None = None) -> None:
        self.settings = settings
        self.bundle = bundle
        self.sinks: list[DecisionSink] = sinks or []
        # Set by the worker: False while audit records cannot be stored anywhere durable.
        self.audit_storing: Callable[[], bool] = lambda: True

    @property
    def policy_settings(self) -> GlobalSettings:
        return self.bundle.policy.settings

    @property
    def istag(self) -> str:
        return self.bundle.istag

    def begin(self, request: IcapRequest, client: str | None) -> DlpTransaction:
        return DlpTransaction(self, request, client)


def build_inspector(settings: Settings, texts: PolicyTexts | None = None) -> Inspector:
    """Load policy and detectors; raise ConfigError (file, line, field) when they are invalid."""
    return DlpInspector(settings, load_bundle(settings, texts=texts))


def policy_snapshot(settings: Settings) -> PolicyTexts:
    """Read the policy files once (the master validates this snapshot and ships it to workers)."""
    return read_policy_texts(settings.policy or default_policy_path())
