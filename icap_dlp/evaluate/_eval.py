"""Run a labelled corpus through the server's inspection and score it."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from icap_dlp import content
from icap_dlp.evaluate._corpus import Case, Label
from icap_dlp.model import Direction, RequestContext

_MAX_DEPTH = 4


def _strings(obj: Any, depth: int = 0) -> Iterator[str]:
    if isinstance(obj, str):
        yield obj
        s = obj.strip()
        if depth < _MAX_DEPTH and s[:1] in ("{", "[") and s[-1:] in ("}", "]"):
            try:
                inner = json.loads(s)
            except ValueError:
                return
            yield from _strings(inner, depth + 1)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield str(k)
            yield from _strings(v, depth)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v, depth)
    elif obj is not None:
        yield json.dumps(obj)


def visible_text(body: bytes, content_encoding: str | None = None) -> str:
    """What a reader of the body sees: its text, plus every string of its JSON (JSON in strings,
    SSE ``data:`` lines and JSON Lines included) decoded, so ``\\uXXXX`` escapes hide nothing."""
    data = content.decode_body(body, content_encoding, content.ContentLimits()) if content_encoding else body
    text = data.decode("utf-8", "replace")
    parts = [text]
    try:
        parts.extend(_strings(json.loads(text)))
    except ValueError:
        for line in text.splitlines():
            payload = line[5:].strip() if line.startswith("data:") else line.strip()
            if payload[:1] in ("{", "["):
                try:
                    parts.extend(_strings(json.loads(payload)))
                except ValueError:
                    continue
    return "\n".join(parts)


def present(value: str, visible: str) -> bool:
    return value in visible


@dataclass
class TypeScore:
    total: int = 0  # labelled sensitive values
    removed: int = 0
    findings: int = 0  # acted-on findings of this type
    true_findings: int = 0  # ... that cover a labelled sensitive value

    @property
    def recall(self) -> float | None:
        return self.removed / self.total if self.total else None

    @property
    def precision(self) -> float | None:
        return self.true_findings / self.findings if self.findings else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None or p + r == 0:
            return None
        return 2 * p * r / (p + r)


@dataclass
class Report:
    policy: str
    cases: int = 0
    types: dict[str, TypeScore] = field(default_factory=dict)
    lookalikes: dict[str, list[int]] = field(default_factory=dict)  # kind -> [survived, total]
    missed: list[tuple[str, str, str]] = field(default_factory=list)  # case id, type, masked value
    destroyed: list[tuple[str, str, str]] = field(default_factory=list)
    decisions: Counter[str] = field(default_factory=Counter)
    # (labelled type, reported type): a sensitive value acted on under other types only, never its
    # own (a Canadian SIN reported as a US SSN is removed, but under the wrong type for per-type
    # policies and audit statistics)
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    # (look-alike kind, reported type): which detectors take the look-alikes
    destroyed_by: Counter[tuple[str, str]] = field(default_factory=Counter)

    def type(self, name: str) -> TypeScore:
        return self.types.setdefault(name, TypeScore())

    def survival(self, kind: str | None = None) -> float | None:
        pairs = [v for k, v in self.lookalikes.items() if kind is None or k == kind]
        total = sum(t for _, t in pairs)
        return sum(s for s, _ in pairs) / total if total else None

    def recall_of(self, types: Iterable[str]) -> float | None:
        wanted = set(types)
        total = sum(s.total for t, s in self.types.items() if t in wanted)
        return sum(s.removed for t, s in self.types.items() if t in wanted) / total if total else None

    def as_json(self) -> dict[str, Any]:
        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 4)

        return {
            "policy": self.policy, "cases": self.cases, "decisions": dict(self.decisions),
            "types": {t: {"sensitive": s.total, "removed": s.removed, "recall": r(s.recall),
                          "findings": s.findings, "precision": r(s.precision), "f1": r(s.f1)}
                      for t, s in sorted(self.types.items())},
            "lookalikes": {k: {"survived": s, "total": n, "survival": r(s / n if n else None)}
                           for k, (s, n) in sorted(self.lookalikes.items())},
            "lookalike_survival": r(self.survival()),
            "missed": [list(x) for x in self.missed], "destroyed": [list(x) for x in self.destroyed],
            "confusion": [{"labelled": a, "reported": b, "count": n} for (a, b), n in sorted(self.confusion.items())],
            "destroyed_by": [{"kind": a, "reported": b, "count": n}
                             for (a, b), n in sorted(self.destroyed_by.items())],
        }

    def render(self) -> str:
        def pct(x: float | None) -> str:
            return "   -  " if x is None else f"{x * 100:5.1f}%"

        lines = [f"policy {self.policy}: {self.cases} cases, decisions "
                 + ", ".join(f"{k} {v}" for k, v in sorted(self.decisions.items())),
                 f"{'entity type':<24} {'values':>6} {'removed':>7} {'recall':>7} {'findings':>8} "
                 f"{'precision':>9} {'F1':>7}"]
        for t, s in sorted(self.types.items()):
            lines.append(f"{t:<24} {s.total:>6} {s.removed:>7} {pct(s.recall):>7} {s.findings:>8} "
                         f"{pct(s.precision):>9} {pct(s.f1):>7}")
        lines.append(f"{'look-alike kind':<24} {'values':>6} {'survived':>8} {'survival':>8}")
        for k, (sv, n) in sorted(self.lookalikes.items()):
            lines.append(f"{k:<24} {n:>6} {sv:>8} {pct(sv / n if n else None):>8}")
        lines.append(f"{'all look-alikes':<24} {sum(n for _, n in self.lookalikes.values()):>6} "
                     f"{sum(s for s, _ in self.lookalikes.values()):>8} {pct(self.survival()):>8}")
        if self.confusion:
            lines.append("sensitive values reported under another type (labelled -> reported: findings)")
            lines += [f"  {a} -> {b}: {n}" for (a, b), n in sorted(self.confusion.items())]
        if self.destroyed_by:
            lines.append("look-alikes taken (kind -> reported type: findings)")
            lines += [f"  {a} -> {b}: {n}" for (a, b), n in sorted(self.destroyed_by.items())]
        return "\n".join(lines)


def mask(value: str) -> str:
    """Enough of a value to find it in the corpus, never the whole of it."""
    keep = max(1, len(value) // 4)
    return value[:keep] + "*" * (len(value) - keep)


def _acted(result: Any) -> Iterator[tuple[str, Any]]:
    """(segment text, finding) of every finding the decision acted on, SSE events included."""
    for part in (result.parts or [result]):
        decision = part.decision
        texts = [s.text for s in part.segments]
        if decision.redactions:
            for lf, _ in decision.redactions:
                yield texts[lf.segment], lf.finding
        elif decision.intended.value == "block":
            for lf in decision.findings:
                if lf.segment < len(texts):
                    yield texts[lf.segment], lf.finding


Inspect = Callable[[Case], tuple[bytes, str | None, Any]]


def local_inspector(bundle: Any) -> Inspect:
    """Inspect a case with ``dlp.inspect_message``, as the server does: (output body, its content
    encoding, the MessageResult)."""
    from icap_dlp.errors import InspectionError
    from icap_dlp.inspection import inspect_message

    def run(case: Case) -> tuple[bytes, str | None, Any]:
        ctx = RequestContext(direction=Direction(case.direction), service=case.direction,
                             content_type=case.content_type)
        try:
            res = inspect_message(bundle, ctx, case.body, content_type=case.content_type,
                                  content_encoding=case.content_encoding)
        except InspectionError:
            # The server answers this with the failure policy; closed (the default) blocks the
            # message: nothing of it reaches the client, values and look-alikes alike.
            return b"", None, None
        if res.body is None:
            return case.body, case.content_encoding, res
        return res.body, None, res

    return run


def icap_inspector(url: str, timeout: float = 120.0) -> Inspect:
    """Inspect a case through a running icap-dlp (or any ICAP server) with RESPMOD: (output body,
    its content encoding, None: a server reports no findings, so no precision)."""
    from urllib.parse import urlsplit

    from icap_dlp.client import IcapClient

    u = urlsplit(url)
    service = u.path.lstrip("/") or "respmod"

    def run(case: Case) -> tuple[bytes, str | None, Any]:
        extra = {"Content-Encoding": case.content_encoding} if case.content_encoding else None
        with IcapClient(u.hostname or "127.0.0.1", u.port or 1344, timeout=timeout) as cli:
            resp = cli.respmod(case.body, service=service, content_type=case.content_type,
                               extra_response_headers=extra)
        if resp.status == 204:
            return case.body, case.content_encoding, None
        if resp.status != 200 or resp.http_response is None or resp.body is None:
            raise RuntimeError(f"{case.id}: ICAP {resp.status} {resp.reason}")
        return resp.body, resp.http_response.headers.get("Content-Encoding"), None

    return run


def evaluate(cases: Sequence[Case], inspect: Inspect, policy: str = "") -> Report:
    rep = Report(policy)
    for case in cases:
        out, encoding, res = inspect(case)
        visible = visible_text(out, encoding)
        rep.cases += 1
        if res is not None:
            rep.decisions[res.decision.action.value] += 1
            reported: dict[Label, set[str]] = {}  # sensitive value -> types acted on over it
            for text, f in _acted(res):
                s = rep.type(f.entity_type)
                s.findings += 1
                span = text[f.start:f.end]
                covered = [x for x in case.sensitive if x.value in span or span in x.value]
                if covered:
                    s.true_findings += 1
                for x in covered:
                    reported.setdefault(x, set()).add(f.entity_type)
                rep.destroyed_by.update({(x.type, f.entity_type) for x in case.lookalikes
                                         if x.value in span or span in x.value})
            for x, types in reported.items():
                if x.type not in types:
                    rep.confusion.update((x.type, t) for t in types)
        for x in case.sensitive:
            s = rep.type(x.type)
            s.total += 1
            if present(x.value, visible):
                rep.missed.append((case.id, x.type, mask(x.value)))
            else:
                s.removed += 1
        for x in case.lookalikes:
            pair = rep.lookalikes.setdefault(x.type, [0, 0])
            pair[1] += 1
            if present(x.value, visible):
                pair[0] += 1
            else:
                rep.destroyed.append((case.id, x.type, mask(x.value)))
    return rep
