"""The audit record: one versioned JSON object per decision, never the sensitive value.

Findings are summarised per detector with counts, scores, locations, keyed-hash fingerprints
(HMAC-SHA256 with the server key, truncated) and masked previews (at most the last 4 characters).
The values are read only while the record is built, from the request's own segments.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any
from urllib.parse import urlsplit

from icap_dlp.redaction import fingerprint, masked_preview

SCHEMA = "icap-dlp.audit/1"
MAX_PER_DETECTOR = 10


def _path(url: str | None, mode: str, key: bytes) -> tuple[str | None, str | None]:
    if not url:
        return None, None
    try:
        u = urlsplit(url if "://" in url else "http://x" + url)
        host, path, query = u.hostname, u.path or "/", u.query
    except ValueError:  # an odd target (``http://[x/``) still gets its record
        host = None
        path, _, query = url.partition("?")
    if query:
        if mode == "hash":
            path += "?#" + fingerprint(query, key)
        elif mode == "keep":
            path += "?" + query
    return host, path


def build_record(report: Any, *, worker: int, query_mode: str = "drop") -> dict[str, Any]:
    """``report`` is a :class:`icap_dlp.adapter.Report` (duck-typed to keep this module pure)."""
    ctx = report.ctx
    bundle = report.bundle
    key: bytes = bundle.key
    res = report.result
    host, path = _path(ctx.url, query_mode, key)
    now = time.time()
    rec: dict[str, Any] = {
        "schema": SCHEMA,
        "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z",
        "incident_id": report.incident,
        "worker": worker,
        "icap": {"method": report.request.method.value, "service": report.request.service,
                 "status": report.status, "istag": bundle.istag},
        "client_ip": ctx.client_ip,
        "user": ctx.user,
        "groups": list(ctx.groups),
        "identity": {"source": getattr(ctx, "identity_source", None),
                     "authenticated": getattr(ctx, "authenticated", False),
                     "token_error": getattr(ctx, "token_error", None)},
        "http": {"method": ctx.http_method, "host": ctx.host or host, "path": path,
                 "content_type": ctx.content_type},
        "mcp": None,
        "decision": report.action.value,
        "mode": bundle.policy.settings.mode,
        "would_have": report.intended.value if report.intended is not report.action else None,
        "rules": [],
        "findings": [],
        "bytes_inspected": 0,
        "timings_ms": {"total": round((report.finished_at - report.started) * 1000, 3)},
        "policy": {"name": bundle.policy.name, "version": bundle.policy.version},
        "key_id": getattr(bundle, "key_id", None),  # the HMAC key of the fingerprints and hashes
        "failure": report.failure,
        "gaps": [],
        "splits": [],
        "skipped": getattr(report, "skipped", None),
    }
    if res is not None:
        mcp = res.mcp
        tool = getattr(mcp, "tool", None) or ctx.tool
        method = getattr(mcp, "method", None) or ctx.mcp_method
        rec["mcp"] = {"method": method, "tool": tool or "unknown",
                      "ids": list(getattr(mcp, "ids", []) or [])[:16]} if (mcp is not None or tool or method) else None
        rec["rules"] = list(res.decision.rules)
        rec["bytes_inspected"] = res.bytes_inspected
        rec["timings_ms"].update(res.timings.as_ms())
        rec["findings"] = summarise(res, key)
        rec["gaps"] = [{"reason": g.reason, "location": g.location, "mode": g.mode}
                       for g in getattr(res, "gaps", ())[:MAX_PER_DETECTOR]]
        rec["splits"] = splits(res)
    return rec


def splits(res: Any) -> list[dict[str, str]]:
    """Values found across a join (``split_across_items`` / ``split_across_events``): where the
    value ends, and its detector."""
    out: list[dict[str, str]] = []
    for prefix, part in _parts(res):
        for sp in getattr(part, "splits", ()):
            if len(out) < MAX_PER_DETECTOR:
                out.append({"kind": sp.kind, "detector": sp.finding.detector_id,
                            "location": prefix + sp.pieces[-1].location})
    return out


def summarise(res: Any, key: bytes) -> list[dict[str, Any]]:
    per: dict[str, dict[str, Any]] = defaultdict(lambda: {"count": 0, "max_score": 0.0, "locations": [],
                                                          "fingerprints": [], "masked": []})
    for prefix, part in _parts(res):
        _add(per, part, key, prefix)
    return [{"detector": k, **v} for k, v in sorted(per.items())]


def _parts(res: Any) -> list[tuple[str, Any]]:
    """(location prefix, result) of each SSE event of a stream's result, else the result itself."""
    return [(f"event[{i}]:", part) for i, part in enumerate(res.parts)] if res.parts else [("", res)]


def _add(per: dict[str, dict[str, Any]], res: Any, key: bytes, prefix: str) -> None:
    texts = [s.text for s in res.segments]
    for lf in res.decision.findings:
        f = lf.finding
        d = per[f.detector_id]
        d["entity_type"] = f.entity_type
        d["severity"] = f.severity
        d["count"] += 1
        d["max_score"] = max(d["max_score"], f.score)
        if len(d["locations"]) < MAX_PER_DETECTOR and lf.segment < len(res.segments):
            loc = prefix + res.segments[lf.segment].location
            if loc not in d["locations"]:
                d["locations"].append(loc)
        if lf.segment < len(texts) and len(d["fingerprints"]) < MAX_PER_DETECTOR:
            value = texts[lf.segment][f.start:f.end]
            fp = fingerprint(value, key)
            if fp not in d["fingerprints"]:
                d["fingerprints"].append(fp)
                if len(d["masked"]) < 3:
                    d["masked"].append(masked_preview(value))
