"""Builds the inspector a worker serves from the settings (policy, detectors).

Until the detection pipeline is plugged in, the service inspects nothing but already routes
bodies the way the pipeline will need: text-like bodies are buffered (bounded by
``max_body_bytes``, with the configured fail answer beyond it), event streams are streamed, and
binary bodies are answered 204 from the headers. The ISTag is derived from the policy files, so
it changes whenever the policy does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from icap_dlp.config import Settings, default_policy_path
from icap_dlp.errors import ConfigError
from icap_dlp.icap import Headers, HttpResponseHead, IcapRequest, Method
from icap_dlp.pipeline import (
    Inspector,
    Outcome,
    Plan,
    Replace,
    StreamPlan,
    Unmodified,
    echo_stream_plan,
)
from icap_dlp.policy import load_policy_docs

_TEXT_TYPES = ("application/json", "application/x-ndjson", "application/x-www-form-urlencoded",
               "application/xml", "application/javascript")


def body_kind(content_type: str | None) -> str:
    """``stream`` (SSE), ``text`` (inspectable) or ``binary`` (skipped)."""
    ct = (content_type or "").split(";", 1)[0].strip().lower()
    if ct == "text/event-stream":
        return "stream"
    if not ct or ct.startswith("text/") or ct in _TEXT_TYPES or ct.endswith("+json"):
        return "text"
    return "binary"


def policy_fingerprint(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for root in paths:
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        if not files:
            raise ConfigError("no files", file=str(root))
        for f in files:
            try:
                h.update(f.name.encode() + b"\0" + f.read_bytes())
            except OSError as exc:
                raise ConfigError(f"cannot read: {exc.strerror}", file=str(f)) from exc
    return h.hexdigest()


def block_page(incident: str) -> tuple[HttpResponseHead, bytes]:
    body = (f"Blocked by a data-protection policy (icap-dlp). Incident {incident}.\n").encode()
    h = Headers([("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
                 ("Cache-Control", "no-store")])
    return HttpResponseHead("HTTP/1.1", 403, "Forbidden", h), body


@dataclass
class FoundationTransaction:
    request: IcapRequest
    settings: Settings

    def _content_type(self) -> str | None:
        head = self.request.http_response if self.request.method is Method.RESPMOD else self.request.http_request
        return head.headers.get("Content-Type") if head is not None else None

    def plan(self) -> Plan:
        kind = body_kind(self._content_type())
        if kind == "binary":
            return Plan.SKIP
        if kind == "stream":
            return Plan.STREAM
        return Plan.BUFFER

    def decide(self, body: bytes) -> Outcome:
        return Unmodified((("X-DLP-Decision", "allow"),))

    def stream(self) -> StreamPlan:
        return echo_stream_plan(self.request)

    def fail(self, reason: str) -> Outcome:
        mode = self.settings.on_oversize if reason == "oversize" else self.settings.on_error
        headers = (("X-DLP-Failure", f"{reason}:{mode}"),)
        if mode == "open":
            return Unmodified((("X-DLP-Decision", "allow"), *headers))
        head, body = block_page(hashlib.sha256(repr(id(self)).encode()).hexdigest()[:16])
        return Replace(http_response=head, body=body, icap_headers=(("X-DLP-Decision", "block"), *headers),
                       close=True)

    def finished(self, status: int) -> None:
        pass


class FoundationInspector:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        policy = Path(settings.policy) if settings.policy else default_policy_path()
        load_policy_docs(policy)  # schema errors stop start-up / a reload, with file:line: field
        paths = [policy]
        if settings.detectors:
            paths.append(Path(settings.detectors))
        self._istag = "dlp-" + policy_fingerprint(paths)[:24]

    @property
    def istag(self) -> str:
        return self._istag

    def begin(self, request: IcapRequest, client: str | None) -> FoundationTransaction:
        return FoundationTransaction(request, self.settings)


def build_inspector(settings: Settings) -> Inspector:
    """Load policy and detectors; raise ConfigError (file, line, field) when they are invalid."""
    return FoundationInspector(settings)
