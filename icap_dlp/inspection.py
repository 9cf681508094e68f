"""The DLP pipeline: content -> detection -> policy -> redaction, behind the server's seam.

A :class:`Bundle` is one immutable version of policy + detectors + compiled engine; a reload
builds a new one and swaps it whole, so requests in flight finish under the version they started
with. :func:`inspect_message` is pure (bytes in, result out) and is shared by the server and by
``icap-dlp policy test``.
"""

from __future__ import annotations

import bisect
import logging
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from icap_dlp import content, redaction, split
from icap_dlp.config import Settings, default_policy_path
from icap_dlp.detection import DetectorLibrary, Engine, load_library
from icap_dlp.errors import InspectionError, failure_reason
from icap_dlp.identity import IdentityResolver
from icap_dlp.keys import HMAC_KEY_ENV as HMAC_KEY_ENV  # re-exported: the CLI reads them here
from icap_dlp.keys import HMAC_KEY_FILE_ENV as HMAC_KEY_FILE_ENV
from icap_dlp.keys import KeyRing, load_key_ring
from icap_dlp.model import Action, Direction, Finding, RequestContext, Segment, Uninspected
from icap_dlp.policy import (
    Decision,
    Operator,
    Policy,
    PolicyTexts,
    compile_policy,
    load_policy_docs,
    read_policy_texts,
)

log = logging.getLogger("icap_dlp.inspection")


def load_hmac_key() -> bytes | None:
    """The signing (newest) key of ICAP_DLP_HMAC_KEY_FILE, else ICAP_DLP_HMAC_KEY (see icap_dlp.keys)."""
    ring = load_key_ring()
    return ring.signing.secret if ring is not None else None


@dataclass(frozen=True)
class Bundle:
    """One immutable version of policy + detectors + compiled engine."""

    policy: Policy
    library: DetectorLibrary
    engine: Engine
    key: bytes
    istag: str
    content_limits: content.ContentLimits
    key_ring: KeyRing | None = None  # ``key`` is its newest; all of them verify X-DLP-Context
    identity: IdentityResolver | None = None  # token verification (JWKS) of this policy version

    @property
    def version(self) -> str:
        return self.policy.version

    @property
    def key_id(self) -> str:
        return self.key_ring.signing.id if self.key_ring is not None else "ephemeral"

    @property
    def verify_keys(self) -> tuple[bytes, ...]:
        return self.key_ring.secrets if self.key_ring is not None else (self.key,)


def load_bundle(settings: Settings, policy_path: str | Path | None = None,
                texts: PolicyTexts | None = None) -> Bundle:
    """Load policy and detectors; raise ConfigError (file, line, field) when they are invalid.

    ``texts`` is a snapshot of the policy files (the master validates one and hands the same
    snapshot to every worker, so all of them run exactly the version that was checked).
    """
    path = Path(policy_path or settings.policy or default_policy_path())
    texts = texts if texts is not None else read_policy_texts(path)
    docs = load_policy_docs(path, texts)
    extra: list[str] = []
    if settings.detectors:
        extra.append(settings.detectors)
    for doc, pf in docs:
        extra.extend(str((Path(doc.file).parent / d).resolve()) for d in pf.detectors)
    library = load_library(extra_paths=extra)
    lookup = {d.id: (d.entity_type, d.category) for d in library.detectors}
    ner_ids = frozenset(d.id for d in library.detectors if getattr(d, "kind", "regex") == "ner")
    policy = compile_policy(path, frozenset(lookup), library_lookup=lookup,
                            library_hash=library.fingerprint, ner_ids=ner_ids, texts=texts)
    engine = make_engine(library, policy)
    ring = load_key_ring()  # re-read on every reload (SIGHUP): a rotated key file takes effect
    # No configured key: tokens and fingerprints are keyed per process (not comparable across
    # instances). Configure ICAP_DLP_HMAC_KEY(_FILE) for stable hashed tokens.
    key = ring.signing.secret if ring is not None else os.urandom(32)
    istag = "dlp-" + policy.content_hash[:24]
    limits = content.ContentLimits(max_decoded_bytes=settings.max_body_bytes * 4, max_leaves=settings.max_body_leaves)
    # a relative jwks_file is relative to the policy (its folder, or the file's folder)
    identity = IdentityResolver.build(policy.settings.identity, base=path if path.is_dir() else path.parent)
    return Bundle(policy, library, engine, key, istag, limits, ring, identity)


def make_engine(library: DetectorLibrary, policy: Policy) -> Engine:
    return Engine(library, sorted(policy.detector_ids), ner_model=policy.settings.ner_model,
                  ner_timeout=policy.settings.ner_timeout)


# -- one message -----------------------------------------------------------------------------


@dataclass
class Timings:
    decode: float = 0.0
    parse: float = 0.0
    detect: float = 0.0
    ner: float = 0.0
    redact: float = 0.0

    def as_ms(self) -> dict[str, float]:
        return {k: round(v * 1000, 3) for k, v in self.__dict__.items()}


@dataclass
class MessageResult:
    """The outcome of inspecting one message body (or one SSE event)."""

    decision: Decision
    body: bytes | None  # the new body when redacted or blocked; None = unchanged
    content_type: str | None = None  # content type of the new body, when it changed
    status: int | None = None  # HTTP status of a block answer
    mcp: content.McpInfo | None = None
    segments: list[Segment] = field(default_factory=list)
    findings: list[list[Finding]] = field(default_factory=list)
    timings: Timings = field(default_factory=Timings)
    bytes_inspected: int = 0
    parts: list[MessageResult] = field(default_factory=list)  # SSE: one result per event
    gaps: list[Uninspected] = field(default_factory=list)  # what could not be inspected, and why
    skipped: str | None = None  # not inspected on purpose (a binary by its magic bytes, a skipped type)
    splits: list[split.Split] = field(default_factory=list)  # values found across a join (audited)
    # A redacted piece of a value that began in the previous SSE event: (piece, its replacement).
    # Only a held-back event (``sse_holdback``) can still take it.
    held_back: list[tuple[split.Piece, str]] = field(default_factory=list)
    # What render() needs: the parsed body and the replacement pairs per segment (None: rendered).
    _pending: tuple[content.ParsedBody, dict[int, list[tuple[Finding, redaction.Operator]]]] | None = None


def _with_mcp(ctx: RequestContext, mcp: content.McpInfo | None) -> RequestContext:
    if mcp is None:
        return ctx
    changes: dict[str, Any] = {}
    if ctx.mcp_method is None and mcp.method:
        changes["mcp_method"] = mcp.method
    if ctx.tool is None and mcp.tool:
        changes["tool"] = mcp.tool
    return replace(ctx, **changes) if changes else ctx


def operator_for(op: Operator, key: bytes) -> redaction.Operator:
    return redaction.make_operator(op.operator, char=op.char, keep_last=op.keep_last,
                                   keep_first=op.keep_first, tag=op.tag, key=key)


def inspect_parsed(bundle: Bundle, ctx: RequestContext, parsed: content.ParsedBody, incident: str,
                   accept: str | None, timings: Timings | None = None,
                   tally: Counter[str] | None = None, extra: Sequence[Segment] = (),
                   previous: Mapping[str, tuple[str, int]] | None = None, defer: bool = False) -> MessageResult:
    """Detect, decide and rewrite one parsed message (``tally``: counts carried across a stream).

    ``extra`` segments are inspected with the message but can never be changed (the request
    URL's query string): a finding there blocks. ``previous``: the field tails of the previous
    SSE event (:func:`split.tails`), joined with this event's fields. ``defer``: leave the
    rewrite to :func:`render` (a held-back SSE event may still take a piece of the next one's).

    Detection has the policy's ``settings.inspection_timeout`` for the whole message (one event
    of a stream); past it ``InspectionError(reason="timeout")`` and the failure policy answers.
    """
    engine = bundle.engine
    token = engine.message_budget(bundle.policy.settings.inspection_timeout)
    try:
        return _inspect_parsed(bundle, ctx, parsed, incident, accept, timings, tally, extra, previous, defer)
    finally:
        engine.end_message_budget(token)


def _inspect_parsed(bundle: Bundle, ctx: RequestContext, parsed: content.ParsedBody, incident: str,
                    accept: str | None, timings: Timings | None, tally: Counter[str] | None,
                    extra: Sequence[Segment], previous: Mapping[str, tuple[str, int]] | None,
                    defer: bool) -> MessageResult:
    timings = timings or Timings()
    if extra:
        parsed = parsed.with_fixed(extra)
    segments: list[Segment] = list(parsed.segments)
    ctx = _with_mcp(ctx, parsed.mcp)
    t = time.perf_counter()
    findings, ner = scan_segments(bundle.engine, segments) if segments else ([], 0.0)
    joins = split.content_joins(parsed) + (split.event_joins(previous, parsed) if previous else [])
    splits = split.find_splits(lambda segs: _scan_joins(bundle.engine, segs), joins) if joins else []
    if parsed.structure is not None and (findings[parsed.structure] or splits):
        # Something in a key, number or short string: walk again with each its own segment.
        parsed = parsed.expanded().with_fixed(extra) if extra else parsed.expanded()
        segments = list(parsed.segments)
        findings, more = scan_segments(bundle.engine, segments)
        ner += more
    heads = _place_splits(segments, findings, splits) if splits else {}
    timings.detect += time.perf_counter() - t - ner
    timings.ner += ner
    texts = [s.text for s in segments]
    decision = bundle.policy.evaluate(ctx, findings, texts, tally)
    if parsed.fixed and any(lf.segment in parsed.fixed for lf, _ in decision.redactions):
        # A finding in the JSON-RPC envelope or a MIME type: those are never changed, so the
        # message is blocked instead of redacted.
        decision.intended = Action.BLOCK
        if decision.action is Action.REDACT:
            decision.action = Action.BLOCK
    result = MessageResult(decision, None, mcp=parsed.mcp, segments=segments, findings=findings,
                           timings=timings, bytes_inspected=sum(len(x) for x in texts), gaps=list(parsed.gaps),
                           skipped=parsed.skipped, splits=[sp for sp, _ in heads.values()])
    if decision.action is Action.REDACT and decision.redactions:
        by_segment: dict[int, list[tuple[Finding, redaction.Operator]]] = {}
        index = {s.location: i for i, s in enumerate(segments)} if heads else {}
        operators: dict[int, redaction.Operator] = {}  # one per policy operator, not per finding
        for lf, op in decision.redactions:
            operator = operators.get(id(op))
            if operator is None:
                operator = operators[id(op)] = operator_for(op, bundle.key)
            head = heads.get((lf.segment, lf.finding.start, lf.finding.end, lf.finding.detector_id))
            if head is None:
                by_segment.setdefault(lf.segment, []).append((lf.finding, operator))
                continue
            sp = head[0]
            for piece, text in zip(sp.pieces, split.pieces_text(sp, operator(sp.value, sp.finding)), strict=True):
                if piece.previous:
                    result.held_back.append((piece, text))
                else:
                    by_segment.setdefault(index[piece.location], []).append(
                        (lf.finding._replace(start=piece.start, end=piece.end), redaction.Fixed(text)))
        result._pending = (parsed, by_segment)
        if not defer:
            render(result)
    elif decision.action is Action.BLOCK:
        result.body, result.content_type, result.status = block_body(bundle, parsed.mcp, incident, accept)
        for sp, _ in heads.values():  # a held-back event loses its piece of a blocked value too
            masker = operator_for(bundle.policy.global_operator(sp.finding.entity_type), bundle.key)
            rep = masker(sp.value, sp.finding)
            result.held_back += [(p, text) for p, text in zip(sp.pieces, split.pieces_text(sp, rep), strict=True)
                                 if p.previous]
    elif defer:
        result._pending = (parsed, {})  # allowed, but the next event may still redact a piece of it
    return result


def _scan_joins(engine: Engine, segments: Sequence[Segment]) -> list[list[Finding]]:
    """The joins of split values: ASCII ones straight to the engine (a join is short, nothing to
    normalize or batch), others through the normalizing scan; encoded tokens are not decoded there."""
    if all(s.text.isascii() for s in segments):
        return engine.scan_segments(segments)
    return scan_segments(engine, segments, decode=False)[0]


def render(result: MessageResult, extra: Sequence[tuple[split.Piece, str]] = ()) -> None:
    """Rewrite the body of ``result`` (deferred or not yet done) with its redactions, and with
    ``extra`` pieces of a split value that the next SSE event found (``sse_holdback``)."""
    if result._pending is None:
        return  # rendered already, or blocked: nothing of it is sent
    parsed, by_segment = result._pending
    result._pending = None
    if not by_segment and not extra:
        return
    t = time.perf_counter()
    if extra:
        index = {s.location: i for i, s in enumerate(parsed.segments)}
        if any(p.location not in index for p, _ in extra) and parsed.structure is not None:
            # the piece is a short string of the quick walk's structure: walk in detail (nothing
            # has been rendered yet, so the document is still the original) and move the pairs
            locations = {i: parsed.segments[i].location for i in by_segment}
            parsed = parsed.expanded()
            index = {s.location: i for i, s in enumerate(parsed.segments)}
            by_segment = {index[loc]: by_segment[i] for i, loc in locations.items()}
        for piece, text in extra:
            i = index[piece.location]
            f = Finding("split", "", "", "", piece.start, piece.end, 1.0)
            by_segment.setdefault(i, []).append((f, redaction.Fixed(text)))
    redactor = redaction.Redactor()
    replacements = {i: redactor.redact(parsed.segments[i].text, pairs) for i, pairs in by_segment.items()}
    result.body = parsed.render(replacements) if replacements else None
    result.timings.redact += time.perf_counter() - t


def _place_splits(segments: Sequence[Segment], findings: list[list[Finding]], splits: Sequence[split.Split]
                  ) -> dict[tuple[int, int, int, str], tuple[split.Split, int]]:
    """Each split value as one finding on its first piece in this message (the policy counts it
    once); the key of that finding -> (split, segment). A piece that overlaps a finding of its
    own segment leaves the split out (the finding inside the piece wins)."""
    index = {s.location: i for i, s in enumerate(segments)}
    heads: dict[tuple[int, int, int, str], tuple[split.Split, int]] = {}
    for sp in splits:
        here = [p for p in sp.pieces if not p.previous]
        missing = [p.location for p in here if p.location not in index]
        if missing:
            raise InspectionError(f"a split value's piece is not a segment: {missing[0]}", "internal")
        if any(f.start < p.end and p.start < f.end for p in here for f in findings[index[p.location]]):
            continue
        i = index[here[0].location]
        head = sp.finding._replace(start=here[0].start, end=here[0].end)
        findings[i].append(head)
        heads[(i, head.start, head.end, head.detector_id)] = (sp, i)
    return heads


# Segments up to this length are scanned together, one engine call for all of them (keys,
# numbers and short strings are most of a JSON document's segments, and each engine call has a
# fixed cost). Each sits on its own line after its context words, as if they stood beside it.
_BATCH_SEGMENT = 256
_BATCH_BYTES = 64 * 1024
_BATCH_SEP = "\n\x00 "


def scan_segments(engine: Engine, segments: Sequence[Segment], *,
                  decode: bool = True) -> tuple[list[list[Finding]], float]:
    """Findings per segment, as spans of the original text, and the NER seconds spent.

    Detection runs on the normalized text (ASCII segments, nearly all traffic, as they are: no
    copy, no map). Short segments are batched (see ``_BATCH_SEGMENT``); a finding in a batch
    counts only inside one segment's text, never across two or in the context words.
    ``decode``: also scan the encoded tokens (base64, hex, %xx, entities) that decode to text
    (off for the joins of split values, see split.py).
    """
    if (all(s.text.isascii() for s in segments)
            and sum(len(s.text) <= _BATCH_SEGMENT for s in segments) < 2
            and not any(content.has_candidates(s.text) for s in segments)):
        # the common case: nothing to normalize, batch or decode
        return engine.scan_segments(segments), engine.last_ner_seconds
    norms: list[content.Normalized | None] = [None if s.text.isascii() else content.normalize(s.text)
                                              for s in segments]
    scan = [s if n is None or not n.changed else replace(s, text=n.text) for s, n in zip(segments, norms, strict=True)]
    small = [i for i, s in enumerate(scan) if len(s.text) <= _BATCH_SEGMENT]
    found: list[list[Finding]] = [[] for _ in scan]
    ner = 0.0
    if len(small) < 2:
        small = []
    large = [i for i, s in enumerate(scan) if len(s.text) > _BATCH_SEGMENT or not small]
    if large:
        for i, fs in zip(large, engine.scan_segments([scan[i] for i in large]), strict=True):
            found[i] = fs
        ner += engine.last_ner_seconds
    for batch in _batches(scan, small):
        text = "".join(part for part, _, _ in batch)
        starts = [start for _, start, _ in batch]
        (fs,) = engine.scan_segments([Segment(text, "batch")])
        ner += engine.last_ner_seconds
        for f in fs:
            k = bisect.bisect_right(starts, f.start) - 1
            if k < 0:
                continue
            _, start, i = batch[k]
            if f.end <= start + len(scan[i].text):
                found[i].append(f._replace(start=f.start - start, end=f.end - start))
    if decode:
        for i, fs in enumerate(_decoded_findings(engine, scan)):
            found[i] += fs
    for i, n in enumerate(norms):
        if n is not None and n.changed and found[i]:
            found[i] = [f._replace(start=a, end=b) for f in found[i] for a, b in (n.original_span(f.start, f.end),)]
    return found, ner


_DECODE_DEPTH = 2


def _decoded_findings(engine: Engine, segments: Sequence[Segment], depth: int = 1) -> list[list[Finding]]:
    """Findings in encoded tokens (base64, hex, %xx, HTML entities) that decode to text.

    The decoded text is normalized and scanned (and its own tokens, to ``_DECODE_DEPTH``); each
    detector that finds something there yields a finding over the whole token in the segment, so
    redaction replaces the token and the message stays valid.
    """
    out: list[list[Finding]] = [[] for _ in segments]
    flat = [(i, tok) for i, s in enumerate(segments) for tok in content.encoded_tokens(s.text)]
    if not flat:
        return out
    inner = [Segment(content.normalize(tok.text).text, f"{segments[i].location}<{tok.kind}>", segments[i].context)
             for i, tok in flat]
    found = engine.scan_segments(inner)
    if depth < _DECODE_DEPTH:
        for k, fs in enumerate(_decoded_findings(engine, inner, depth + 1)):
            found[k] += fs
    for (i, tok), fs in zip(flat, found, strict=True):
        seen: set[str] = set()
        for f in sorted(fs, key=lambda f: -f.score):
            if f.detector_id not in seen:
                seen.add(f.detector_id)
                why = f"{f.explanation}; inside {tok.kind}"
                out[i].append(f._replace(start=tok.start, end=tok.end, explanation=why))
    return out


def _batches(scan: Sequence[Segment], small: Sequence[int]) -> list[list[tuple[str, int, int]]]:
    """Lines ``<sep><context>: <text>`` of at most ``_BATCH_BYTES``: (line, text offset, segment)."""
    out: list[list[tuple[str, int, int]]] = []
    cur: list[tuple[str, int, int]] = []
    pos = 0
    for i in small:
        seg = scan[i]
        prefix = f"{_BATCH_SEP}{seg.context}: "
        if pos + len(prefix) + len(seg.text) > _BATCH_BYTES and cur:
            out.append(cur)
            cur, pos = [], 0
        cur.append((prefix + seg.text, pos + len(prefix), i))
        pos += len(prefix) + len(seg.text)
    if cur:
        out.append(cur)
    return out


def query_segments(ctx: RequestContext) -> list[Segment]:
    """REQMOD: the request URL's query values (``?api_key=...``), each with its name as context."""
    if ctx.direction is not Direction.REQMOD or not ctx.url or "?" not in ctx.url:
        return []
    # By hand, not urlsplit: an odd target (``http://[x/?q=...``) makes urlsplit raise, and its
    # query must still be inspected.
    query = ctx.url.partition("?")[2].partition("#")[0]
    out = []
    for name, value in parse_qsl(query, keep_blank_values=False, errors="surrogateescape"):
        out.append(Segment(value, f"url?{name}", name))
        out.append(Segment(name, f"url?{name}<key>"))
    return out


def block_body(bundle: Bundle, mcp: content.McpInfo | None, incident: str, accept: str | None
               ) -> tuple[bytes, str, int]:
    if mcp is not None:
        body = redaction.jsonrpc_block_response(mcp.ids, incident, bundle.policy.settings.block_error_code,
                                                is_batch=mcp.is_batch)
        return body, "application/json", 200
    ctype, body = redaction.http_block_page(accept, incident)
    return body, ctype, 403


def inspect_message(bundle: Bundle, ctx: RequestContext, body: bytes, *, content_type: str | None,
                    content_encoding: str | None = None, accept: str | None = None,
                    incident: str | None = None, skip_types: tuple[str, ...] | None = None,
                    fail_default: Callable[[str], str] | None = None, sniff_always: bool = False) -> MessageResult:
    """Decode, parse and inspect a whole body (JSON, NDJSON, form, text; SSE event by event).

    A generic or unknown type (and, with ``sniff_always`` - a response to an MCP request - any
    type) is decided from its first bytes: a binary is not inspected (``MessageResult.skipped``).

    Raises :class:`InspectionError` when the body cannot be inspected; any other exception raised
    inside inspection is turned into one (its reason from :func:`failure_reason`), so the caller's
    failure policy answers it: no exception ever becomes an allow. Parts that could not be
    inspected while the rest could are listed in ``MessageResult.gaps``.
    """
    try:
        return _inspect_message(bundle, ctx, body, content_type=content_type,
                                content_encoding=content_encoding, accept=accept, incident=incident,
                                skip_types=skip_types, fail_default=fail_default, sniff_always=sniff_always)
    except InspectionError:
        raise
    except Exception as exc:
        reason = failure_reason(exc)
        # The type only: an exception's message may quote the content.
        log.warning("inspection failed", extra={"fields": {"error": type(exc).__name__, "reason": reason}})
        log.debug("inspection failed", exc_info=True)
        raise InspectionError(f"inspection failed: {type(exc).__name__}", reason) from exc


def _inspect_message(bundle: Bundle, ctx: RequestContext, body: bytes, *, content_type: str | None,
                     content_encoding: str | None, accept: str | None, incident: str | None,
                     skip_types: tuple[str, ...] | None,
                     fail_default: Callable[[str], str] | None, sniff_always: bool) -> MessageResult:
    reason = "type"
    incident = incident or new_incident_id()
    timings = Timings()
    t = time.perf_counter()
    gaps: list[Uninspected] = []
    decoded = content.decode_body(body, content_encoding, bundle.content_limits, gaps)
    timings.decode = time.perf_counter() - t
    kind = content.classify(content_type, *(() if skip_types is None else (skip_types,)))
    if kind in (content.BodyKind.SNIFF, content.BodyKind.SKIP) and (sniff_always or kind is content.BodyKind.SNIFF):
        kind, reason = content.sniff(decoded[:content.SNIFF_BYTES])
    charset = content.charset_of(content_type)
    t = time.perf_counter()
    extra = query_segments(ctx)
    if kind is content.BodyKind.SSE:
        res = _inspect_sse_whole(bundle, ctx, decoded, incident, accept, timings, fail_default)
    else:
        parsed = content.parse(decoded, kind, charset, bundle.content_limits, content_type)
        if kind is content.BodyKind.SKIP:
            parsed.skipped = reason
        timings.parse = time.perf_counter() - t
        res = inspect_parsed(bundle, ctx, parsed, incident, accept, timings, extra=extra)
    res.gaps[:0] = gaps
    return res


def _inspect_sse_whole(bundle: Bundle, ctx: RequestContext, body: bytes, incident: str,
                       accept: str | None, timings: Timings,
                       fail_default: Callable[[str], str] | None) -> MessageResult:
    """A buffered (compressed) SSE body: the streamed code, event by event, then one result.

    Events that could not be inspected are the result's gaps: the caller answers them with the
    failure policy for the whole message (a buffered body can still be blocked as a whole).
    """
    stream = SseInspector(bundle, ctx, incident, accept)
    if fail_default is not None:
        stream.fail_default = fail_default
    out = stream.feed(body) + stream.finish()
    res = stream.summary()
    res.body = None if out == body else out
    res.timings = timings
    return res


def new_incident_id() -> str:
    return uuid.uuid4().hex


class _Gaps:
    """The gaps of one stream, each answered by the failure policy; ``failure`` names the strictest
    answer given (``reason:mode``). ``fail_default`` is the server's default mode per reason."""

    def __init__(self, bundle: Bundle, ctx: RequestContext) -> None:
        self.bundle = bundle
        self.ctx = ctx
        self.gaps: list[Uninspected] = []
        self._failure: str | None = None
        self.fail_default: Callable[[str], str] = lambda reason: "closed"

    @property
    def failure(self) -> str | None:
        return self._failure

    def _gap_mode(self, reason: str, location: str) -> str:
        """Ask the failure policy about a gap, record it, and return its answer (open | closed)."""
        mode = self.bundle.policy.failure_mode(reason, self.ctx, self.fail_default(reason))
        self.gaps.append(Uninspected(reason, location, mode))
        if self._failure is None or (mode == "closed" and not self._failure.endswith(":closed")):
            self._failure = f"{reason}:{mode}"
        return mode


class SseInspector(_Gaps):
    """A BodyStream for ``text/event-stream``: each event is inspected and sent on when complete."""

    def __init__(self, bundle: Bundle, ctx: RequestContext, incident: str, accept: str | None) -> None:
        super().__init__(bundle, ctx)
        self.incident = incident
        self.accept = accept
        self.sse = content.SseStream(max_event_bytes=bundle.content_limits.max_event_bytes)
        self.results: list[MessageResult] = []
        self._oversize_mode = ""
        self.tally: Counter[str] = Counter()  # count thresholds apply to the whole stream
        self._index = -1
        # Split values: the previous event's field tails, and (``sse_holdback: 1``) the previous
        # event itself, inspected but not sent until the next one is: (its bytes, its result, or
        # None when the bytes are already its answer: an error or block event).
        self._tails: dict[str, tuple[str, int]] = {}
        self.holdback = bundle.policy.settings.sse_holdback
        self._held: tuple[bytes, MessageResult | None] | None = None

    def _events(self, events: Sequence[content.SseEvent]) -> bytes:
        out: list[bytes] = []
        for ev in events:
            self._index += 1
            if ev.oversize:
                self._tails = {}
                out += (self._release(), self._oversize(ev))
                continue
            try:
                parsed = ev.parsed(self.bundle.content_limits)
                res = inspect_parsed(self.bundle, self.ctx, parsed, self.incident, self.accept, tally=self.tally,
                                     previous=self._tails, defer=True)
                self._tails = split.tails(parsed)
            except Exception as exc:  # every exception is a gap for the failure policy, never an allow
                reason = failure_reason(exc)
                if not isinstance(exc, InspectionError):
                    log.warning("event inspection failed",
                                extra={"fields": {"error": type(exc).__name__, "reason": reason}})
                    log.debug("event inspection failed", exc_info=True)
                self._tails = {}
                out += (self._release(), self._failed(ev, reason))
                continue
            self.results.append(res)
            if res.gaps and any(self._gap_mode(g.reason, f"event[{self._index}]:{g.location}") == "closed"
                                for g in res.gaps):
                answer: tuple[bytes, MessageResult | None] = (self._error_event(), None)
            elif res.decision.action is Action.BLOCK:
                ids = getattr(parsed.mcp, "ids", None) or [None]
                answer = (redaction.sse_block_event(ids[0], self.incident,
                                                    self.bundle.policy.settings.block_error_code), None)
            else:
                answer = (ev.raw, res)
            out.append(self._release(res.held_back))
            self._held = answer
            if not self.holdback:
                out.append(self._release())
        return b"".join(out)

    def _release(self, pieces: Sequence[tuple[split.Piece, str]] = ()) -> bytes:
        """Send the held event, with the pieces of a split value the next event found in it."""
        if self._held is None:
            return b""
        raw, res = self._held
        self._held = None
        if res is None:
            return raw
        render(res, pieces)
        return res.body if res.body is not None else raw

    def _oversize(self, ev: content.SseEvent) -> bytes:
        """An event over the per-event cap: the failure policy decides (always audited)."""
        if self._oversize_mode:  # the rest of an event already answered
            return b"" if self._oversize_mode == "closed" else bytes(ev.raw)
        out = self._failed(ev, "oversize")
        self._oversize_mode = self.gaps[-1].mode
        return out

    def _failed(self, ev: content.SseEvent, reason: str) -> bytes:
        """An event that could not be inspected: pass it (open) or replace it by an error (closed)."""
        if self._gap_mode(reason, f"event[{self._index}]") == "open":
            return bytes(ev.raw)
        return self._error_event()

    def _error_event(self) -> bytes:
        return redaction.sse_block_event(None, self.incident, self.bundle.policy.settings.block_error_code)

    def feed(self, data: bytes) -> bytes:
        return self._events(self.sse.feed(data))

    @property
    def pending(self) -> int:
        return self.sse.buffered

    def finish(self) -> bytes:
        return self._events(self.sse.close()) + self._release()

    def summary(self) -> MessageResult:
        """One decision for the whole stream: the strictest event's, with every rule and finding."""
        if not self.results:
            return MessageResult(self.bundle.policy.evaluate(self.ctx, [], []), None, gaps=list(self.gaps))
        actions = [r.decision.action for r in self.results]
        worst = max(self.results, key=lambda r: r.decision.intended.rank)
        merged = Decision(action=Action.strictest(actions), intended=worst.decision.intended,
                          mode=worst.decision.mode)
        for r in self.results:
            merged.rules += [x for x in r.decision.rules if x not in merged.rules]
            merged.findings += r.decision.findings
        res = MessageResult(merged, None, mcp=worst.mcp, parts=list(self.results), gaps=list(self.gaps))
        res.bytes_inspected = sum(r.bytes_inspected for r in self.results)
        return res


_SNIFFED_TYPES = {content.BodyKind.JSON: "application/json", content.BodyKind.NDJSON: "application/x-ndjson",
                  content.BodyKind.TEXT: "text/plain; charset=utf-8"}


class SniffStream(_Gaps):
    """A BodyStream for a body whose declared type is generic, unknown or not trusted (any
    response to an MCP request): its first bytes decide (:func:`content.sniff`).

    A binary (by its magic bytes, or bytes that are not mostly printable UTF-8) streams on
    unchanged and is reported ``skipped``; an event stream is inspected event by event
    (:class:`SseInspector`); anything else is held, up to ``max_bytes``, and inspected whole at
    its end. The answer's head is already sent: a block replaces the body (a JSON-RPC error for
    an MCP message), and a held body over ``max_bytes`` is a gap ``oversize`` for the failure
    policy (open: the rest streams on uninspected; closed: the body is replaced by the block).
    """

    def __init__(self, bundle: Bundle, ctx: RequestContext, incident: str, accept: str | None, *,
                 max_bytes: int) -> None:
        super().__init__(bundle, ctx)
        self.incident = incident
        self.accept = accept
        self.max_bytes = max_bytes
        self.mode = ""  # "" deciding, then pass | sse | hold | dropped
        self.kind = content.BodyKind.TEXT
        self._held = bytearray()
        self._sse: SseInspector | None = None
        self._result: MessageResult | None = None
        self.skipped: str | None = None

    @property
    def failure(self) -> str | None:
        return self._sse.failure if self._sse is not None else self._failure

    @property
    def pending(self) -> int:
        return self._sse.pending if self._sse is not None else len(self._held)

    def feed(self, data: bytes) -> bytes:
        if self.mode == "pass":
            return data
        if self._sse is not None:
            return self._sse.feed(data)
        if self.mode == "dropped":
            return b""
        self._held += data
        if self.mode == "" and len(self._held) >= content.SNIFF_BYTES:
            return self._decide()
        if self.mode == "hold" and len(self._held) > self.max_bytes:
            return self._overflow()
        return b""

    def finish(self) -> bytes:
        out = self._decide() if self.mode == "" else b""
        if self._sse is not None:
            return out + self._sse.finish()
        if self.mode != "hold":
            return out
        body = bytes(self._held)
        self._held.clear()
        try:
            res = inspect_message(self.bundle, self.ctx, body, content_type=_SNIFFED_TYPES[self.kind],
                                  accept=self.accept, incident=self.incident, fail_default=self.fail_default)
        except Exception as exc:  # noqa: BLE001 - a gap for the failure policy (logged inside)
            return self._gap(failure_reason(exc), body)
        self._result = res
        for g in res.gaps:
            if self._gap_mode(g.reason, g.location) == "closed":
                return self._block(res.mcp)
        if res.decision.action is Action.BLOCK and res.body is not None:
            return res.body
        return res.body if res.body is not None else body

    def summary(self) -> MessageResult:
        if self._sse is not None:
            return self._sse.summary()
        res = self._result or MessageResult(self.bundle.policy.evaluate(self.ctx, [], []), None,
                                            skipped=self.skipped)
        res.gaps = list(self.gaps)
        if self._failure is not None and self._failure.endswith(":closed"):
            res.decision.action = res.decision.intended = Action.BLOCK  # the body was replaced by the block
        return res

    def _decide(self) -> bytes:
        kind, reason = content.sniff(bytes(self._held[:content.SNIFF_BYTES]))
        held = bytes(self._held)
        if kind is content.BodyKind.SKIP:
            self.mode, self.skipped = "pass", reason
            self._held.clear()
            return held
        if kind is content.BodyKind.SSE:
            self.mode = "sse"
            self._sse = SseInspector(self.bundle, self.ctx, self.incident, self.accept)
            self._sse.fail_default = self.fail_default
            self._held.clear()
            return self._sse.feed(held)
        self.mode, self.kind = "hold", kind
        return self._overflow() if len(self._held) > self.max_bytes else b""

    def _overflow(self) -> bytes:
        held = bytes(self._held)
        self._held.clear()
        return self._gap("oversize", held)

    def _gap(self, reason: str, held: bytes) -> bytes:
        """Part of the body could not be inspected: open passes it on, closed blocks."""
        if self._gap_mode(reason, "body") == "open":
            self.mode = "pass"
            return held
        self.mode = "dropped"
        return self._block(None)

    def _block(self, mcp: content.McpInfo | None) -> bytes:
        body, _, _ = block_body(self.bundle, mcp, self.incident, self.accept)
        return body
