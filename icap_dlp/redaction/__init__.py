"""Rewriting findings (operators, overlap resolution, one replacement per value) and block answers."""

from __future__ import annotations

import hashlib
import hmac
import html
import json
from collections.abc import Callable, Sequence
from typing import Any

from icap_dlp.detection import resolve_overlaps as detection_resolve
from icap_dlp.model import Finding

Operator = Callable[[str, Finding], str]

BLOCK_MESSAGE = "Blocked by a data-protection policy"


def make_operator(name: str, *, char: str = "*", keep_last: int = 4, keep_first: int = 0, tag: str | None = None,
                  key: bytes = b"") -> Operator:
    """``mask`` (``****1111``), ``tag`` (``[EMAIL_ADDRESS]``), ``hash`` (keyed HMAC-SHA256 token),
    ``partial`` (keep first and last N), ``remove``."""
    if name == "mask":
        def mask(value: str, f: Finding) -> str:
            keep = min(keep_last, max(0, len(value) - 4)) if len(value) < 8 else keep_last
            return char * (len(value) - keep) + (value[-keep:] if keep else "")
        return mask
    if name == "tag":
        return lambda value, f: tag.replace("{entity_type}", f.entity_type) if tag else f"[{f.entity_type}]"
    if name == "hash":
        def hashed(value: str, f: Finding) -> str:
            digest = hmac.new(key, value.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()[:16]
            return f"[{f.entity_type}:{digest}]"
        return hashed
    if name == "partial":
        def partial(value: str, f: Finding) -> str:
            if len(value) <= keep_first + keep_last + 2:
                return char * len(value)
            end = value[-keep_last:] if keep_last else ""
            return value[:keep_first] + char * (len(value) - keep_first - keep_last) + end
        return partial
    if name == "remove":
        return lambda value, f: ""
    raise ValueError(f"unknown redaction operator {name!r}")


def resolve_overlaps(pairs: Sequence[tuple[Finding, Any]]) -> list[tuple[Finding, Any]]:
    """The findings to rewrite, by the engine's own overlap rule (one rule for both, so what is
    redacted is what was reported), each with its operator (the first given for a finding)."""
    ops: dict[Finding, Any] = {}
    for f, op in pairs:
        ops.setdefault(f, op)
    return [(f, ops[f]) for f in detection_resolve(list(ops))]


class Fixed:
    """An operator that answers one given text: a piece of a split value's replacement."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __call__(self, value: str, f: Finding) -> str:
        return self.text


class Redactor:
    """One per message: the same value gets the same replacement everywhere in the message."""

    def __init__(self) -> None:
        self._memo: dict[tuple[str, str], str] = {}

    def redact(self, text: str, pairs: Sequence[tuple[Finding, Operator]]) -> str:
        out: list[str] = []
        last = 0
        for f, op in resolve_overlaps(pairs):
            value = text[f.start:f.end]
            if isinstance(op, Fixed):
                rep = op.text
            else:
                k = (f.entity_type, value)
                memo = self._memo.get(k)
                rep = self._memo[k] = op(value, f) if memo is None else memo
            out.append(text[last:f.start])
            out.append(rep)
            last = f.end
        out.append(text[last:])
        return "".join(out)


def masked_preview(value: str) -> str:
    """For audit records: never more than the last 4 characters, nothing of values under 8."""
    if len(value) < 8:
        return "*" * len(value)
    return "*" * (len(value) - 4) + value[-4:]


def fingerprint(value: str, key: bytes) -> str:
    return hmac.new(key, value.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()[:16]


def _error(rpc_id: Any, incident: str, code: int) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rpc_id,
            "error": {"code": code, "message": f"{BLOCK_MESSAGE} (incident {incident})",
                      "data": {"incident_id": incident, "blocked_by": "icap-dlp"}}}


def jsonrpc_block_response(ids: Sequence[Any], incident: str, code: int = -32001, *,
                           is_batch: bool = False) -> bytes:
    """A JSON-RPC error with the same id(s); never the values that were found."""
    msgs = [_error(i, incident, code) for i in (ids or [None])]
    doc: Any = msgs if is_batch else msgs[0]
    return json.dumps(doc, separators=(",", ":")).encode()


def sse_block_event(rpc_id: Any, incident: str, code: int = -32001) -> bytes:
    return b"event: message\ndata: " + json.dumps(_error(rpc_id, incident, code), separators=(",", ":")).encode() \
        + b"\n\n"


def http_block_page(accept: str | None, incident: str) -> tuple[str, bytes]:
    """A small 403 body in the format the client asked for."""
    a = (accept or "").lower()
    if "json" in a:
        body = {"error": "blocked", "message": BLOCK_MESSAGE, "incident_id": incident}
        return "application/json", json.dumps(body).encode()
    if "html" in a:
        page = (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>Blocked</title></head><body>"
                f"<h1>Blocked</h1><p>{html.escape(BLOCK_MESSAGE)}.</p><p>Incident: <code>{html.escape(incident)}"
                f"</code></p></body></html>\n")
        return "text/html; charset=utf-8", page.encode()
    return "text/plain; charset=utf-8", f"{BLOCK_MESSAGE}. Incident {incident}.\n".encode()
