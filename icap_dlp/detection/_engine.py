"""Detector library loading and the scanning engine.

Everything is compiled once at load. Per text segment, one pass decides which detectors can
possibly match (literal keywords, digit-run gates); only those run their regexes, each bounded by
a timeout; validators, context words and allow-lists follow; overlaps are resolved
deterministically (higher score, then more evidence: context and a valid check, then longer
span, then detector id).
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import hashlib
import logging
import operator
import re
import re._constants as re_constants
import re._parser as re_parser
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import regex
from pydantic import ValidationError

from icap_dlp._yaml import YamlDoc, load_yaml_bytes, pydantic_errors
from icap_dlp.detection import _korean, _literals
from icap_dlp.detection import _validators as V
from icap_dlp.detection._cost import MAX_WINDOW, fast_window
from icap_dlp.detection._hsdb import JsonMemo, cache_dir, compile_database, read_trusted, write_private
from icap_dlp.detection._ner_config import NerConfig
from icap_dlp.detection._schema import Context, Detector, DetectorFile
from icap_dlp.detection._structure import TextStructure
from icap_dlp.errors import ConfigError, ConfigErrors, InspectionError
from icap_dlp.model import Finding, Segment

log = logging.getLogger("icap_dlp.detection")
_REGISTERED = (_korean.kr_name,)  # validators defined outside _validators register on import

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "data" / "detectors"
_FLAGS = {"ignorecase": regex.IGNORECASE, "multiline": regex.MULTILINE, "dotall": regex.DOTALL}
# A quantified group that itself contains a quantifier: (a+)+, (a*)*, (\w+\s?)* ... the classic
# shapes of catastrophic backtracking. Atomic groups and possessive quantifiers are exempt.
_NESTED_QUANT = re.compile(r"\((?!\?>)(?:[^()\\]|\\.)*?(?<![\\+*])[+*](?!\+)(?:[^()\\]|\\.)*\)(?:[+*]|\{\d+,\})(?!\+)")


def redos_risk(pattern: str) -> bool:
    return bool(_NESTED_QUANT.search(pattern))


@dataclass(frozen=True)
class CompiledPattern:
    name: str
    source: str  # the regex and its flags, compiled on first use (see ``rx``)
    flags: int
    group: int | str
    why: str  # the start of every explanation from this pattern
    # A finding's score, rounded, from the pattern's score (else the detector's base score) for:
    # nothing extra, a valid validator (+0.2), a context word (+boost), both, then an UNKNOWN
    # verdict (the validator's unknown_score, else the base) without and with a context word;
    # computed once, in the order the bonuses are added.
    scores: tuple[float, float, float, float, float, float]
    # Windows up to this many characters are searched without regex's per-call timeout: the
    # pattern's worst case there is provably small (see _cost); 0 = always with the timeout.
    fast_window: int = 0
    context_required: bool = False  # a bare form: no finding without a context word or label
    shorter_on_invalid: bool = False
    # Strings one of which every match holds (lower-case; _literals): on an ASCII text where the
    # prefilter found none of them the pattern is not run. Empty: no such gate.
    needs: frozenset[str] = frozenset()

    @functools.cached_property
    def rx(self) -> regex.Pattern[str]:
        """The compiled pattern. Compiling the library's 115 patterns costs more than a third of
        ``icap-dlp scan``'s start-up, and a scan of a small file needs few of them: the load
        checks each pattern (or finds it checked in the shape memo) and compiles it here, once,
        when an engine first needs it (an Engine compiles its detectors' patterns up front
        unless told to be lazy)."""
        return regex.compile(self.source, self.flags)


VALID_BONUS = 0.2


def _scores(base: float, boost: float, unknown: float | None = None) -> tuple[float, float, float, float, float, float]:
    def final(x: float) -> float:
        return round(x, 3) if x < 1.0 else 1.0

    unk = base if unknown is None else unknown
    return (final(base), final(base + VALID_BONUS), final(base + boost), final(base + VALID_BONUS + boost),
            final(unk), final(unk + boost))


@dataclass(frozen=True)
class CompiledDetector:
    spec: Detector
    file: str
    line: int | None
    patterns: tuple[CompiledPattern, ...]
    keywords: tuple[str, ...]
    context_words: tuple[str, ...]
    allow_values: frozenset[str]
    allow_patterns: tuple[regex.Pattern[str], ...]
    validator: V.Validator | None = None
    validator_args: dict[str, Any] = field(default_factory=dict)
    context: Context | None = None
    why_valid: str = ""
    why_unknown: str = ""
    # A required context makes its words a gate too: no finding without one of them in the text.
    # Only words Hyperscan's caseless matching reads as the context check does (ASCII, or letters
    # without case such as Hangul); otherwise empty, and the gate is not used.
    required_words: tuple[str, ...] = ()
    # What every finding of this detector starts with (id, entity type, category, severity).
    head: tuple[str, str, str, str] = ("", "", "", "")
    # Short ASCII context words (tin, ip, cc) count only as whole words: "tin" is not in "Kristin".
    whole_words: dict[str, re.Pattern[str]] = field(default_factory=dict)
    anchor_width: int | None = None  # anchor_width(spec.anchor), from the memo of earlier loads

    @property
    def id(self) -> str:
        return self.spec.id


class DetectorLibrary:
    """All loaded detectors; immutable."""

    def __init__(self, compiled: list[CompiledDetector], files: list[str], fingerprint: str) -> None:
        self.compiled = {c.id: c for c in compiled}
        self.detectors: tuple[Detector, ...] = tuple(c.spec for c in compiled)
        self.files = files
        self.fingerprint = fingerprint

    def get(self, detector_id: str) -> Detector:
        return self.compiled[detector_id].spec

    def __contains__(self, detector_id: object) -> bool:
        return detector_id in self.compiled

    def select(self, ids: Iterable[str] | None = None, entity_types: Iterable[str] | None = None,
               categories: Iterable[str] | None = None) -> list[Detector]:
        ids_, types_, cats_ = set(ids or ()), set(entity_types or ()), set(categories or ())
        return [d for d in self.detectors
                if d.id in ids_ or d.entity_type in types_ or (d.category in cats_ and d.kind != "ner")]

    def run_examples(self, ids: Iterable[str] | None = None, *, ner_model: str | None = None) -> list[str]:
        """Run every selected detector's examples; return one report line per failure."""
        chosen = sorted(ids) if ids is not None else sorted(self.compiled)
        regex_ids = [i for i in chosen if self.compiled[i].spec.kind == "regex"]
        problems: list[str] = []
        engine = Engine(self, regex_ids, on_timeout="skip")
        for did in regex_ids:
            c = self.compiled[did]
            where = f"{c.file}:{c.line}"
            for text in c.spec.examples.match:
                before = engine.timeouts
                if not any(f.detector_id == did for f in engine.scan_all(text)):
                    late = " (a pattern timed out)" if engine.timeouts > before else ""
                    problems.append(f"{where}: {did}: - expected a match in {text!r}{late}")
            for text in c.spec.examples.no_match:
                found = [f for f in engine.scan_all(text) if f.detector_id == did]
                if found:
                    vals = ", ".join(repr(text[f.start:f.end]) for f in found)
                    problems.append(f"{where}: {did}: + unexpected match {vals} in {text!r}")
        return problems


def _fast_window_memo() -> JsonMemo:
    """fast_window and required_literals results of earlier loads: both analyses are pure
    (pattern, flags, the _cost and _literals modules, Python's regex parser), and cost more than
    compiling the patterns."""
    from icap_dlp.detection import _cost

    source = Path(_cost.__file__).read_bytes() + Path(_literals.__file__).read_bytes()
    return JsonMemo("fast-window", f"{hashlib.sha256(source).hexdigest()} regex {regex.__version__} "
                                   f"python {sys.version}")


def _compile_detector(det: Detector, doc: YamlDoc, path: tuple[str | int, ...],
                      memo: JsonMemo | None = None, shapes: JsonMemo | None = None) -> CompiledDetector:
    errors: list[ConfigError] = []
    pats = []
    for i, p in enumerate(det.patterns):
        where = (*path, "patterns", i, "regex")
        if redos_risk(p.regex):
            errors.append(doc.error(where, "nested quantifiers can backtrack catastrophically "
                                           "(use possessive ++/*+ or an atomic group (?>...))"))
            continue
        flags = regex.VERSION1
        for f in p.flags:
            flags |= _FLAGS[f]
        try:
            groups, names = _shape(p.regex, flags, shapes)
        except regex.error as exc:
            errors.append(doc.error(where, f"invalid regex: {exc}"))
            continue
        if isinstance(p.group, int) and p.group > groups:
            errors.append(doc.error((*path, "patterns", i, "group"), f"the regex has only {groups} groups"))
        if isinstance(p.group, str) and p.group not in names:
            errors.append(doc.error((*path, "patterns", i, "group"), f"no group named {p.group!r}"))
        score = det.score if p.score is None else p.score
        if p.context_required and det.context is None:
            errors.append(doc.error((*path, "patterns", i, "context_required"),
                                    "the detector has no context words to require"))
        if p.shorter_on_invalid and det.validator is None:
            errors.append(doc.error((*path, "patterns", i, "shorter_on_invalid"), "the detector has no validator"))
        pats.append(CompiledPattern(p.name, p.regex, flags, p.group, f"pattern {p.name}",
                                    _scores(score, det.context.boost if det.context else 0.0,
                                            det.validator.unknown_score if det.validator else None),
                                    _fast_window(p.regex, flags, memo), p.context_required, p.shorter_on_invalid,
                                    _needs(p.regex, flags, memo)))
    if det.validator is not None:
        if det.validator.name not in V.REGISTRY:
            errors.append(doc.error((*path, "validator"), f"unknown validator {det.validator.name!r} "
                                                          f"(known: {', '.join(sorted(V.REGISTRY))})"))
        else:
            extra = set(det.validator.args) - V.allowed_args(det.validator.name)
            if extra:
                errors.append(doc.error((*path, "validator", "args"), f"unknown argument(s) {sorted(extra)}"))
    allow_pats = []
    if det.allow is not None:
        for i, ap in enumerate(det.allow.patterns):
            try:
                allow_pats.append(regex.compile(ap))
            except regex.error as exc:
                errors.append(doc.error((*path, "allow", "patterns", i), f"invalid regex: {exc}"))
    if errors:
        raise ConfigErrors(errors)
    return CompiledDetector(
        spec=det, file=doc.file, line=doc.line_of(path), patterns=tuple(pats),
        keywords=tuple(k.lower() for k in det.keywords),
        context_words=tuple(w.lower() for w in det.context.words) if det.context else (),
        allow_values=frozenset(det.allow.values) if det.allow else frozenset(),
        allow_patterns=tuple(allow_pats),
        validator=V.REGISTRY[det.validator.name] if det.validator else None,
        validator_args=dict(det.validator.args) if det.validator else {},
        context=det.context,
        why_valid=f"; {det.validator.name} valid" if det.validator else "",
        why_unknown=f"; {det.validator.name} unknown" if det.validator else "",
        head=(det.id, det.entity_type, det.category, det.severity),
        anchor_width=_anchor_width(det.anchor, shapes) if det.anchor else None,
        required_words=_gate_words(det.context),
        whole_words={w.lower(): _whole_word(w.lower())
                     for w in (det.context.words if det.context else ()) if w.isascii() and len(w) <= _SHORT_WORD},
    )


def _shape_memo() -> JsonMemo:
    """Group counts and names of patterns that compiled in an earlier load (with this version of
    regex): a pattern found there is not compiled at load, only when an engine first needs it.
    Also each anchor's width (Python's own regex parser: its version is part of the key)."""
    return JsonMemo("regex-shape", f"regex {regex.__version__}; python {sys.version}")


def _shape(pattern: str, flags: int, memo: JsonMemo | None) -> tuple[int, list[str]]:
    """(number of groups, group names) of a pattern; raises regex.error when it does not compile."""
    def compute() -> list[Any]:
        rx = regex.compile(pattern, flags)
        return [rx.groups, sorted(rx.groupindex)]

    value = compute() if memo is None else memo.get(f"{flags}:{pattern}", compute)
    if (isinstance(value, list) and len(value) == 2 and isinstance(value[0], int) and isinstance(value[1], list)
            and all(isinstance(n, str) for n in value[1])):
        return value[0], value[1]
    groups, names = compute()  # a damaged memo entry: compile, as without a memo
    return groups, names


def _anchor_width(anchor: str, memo: JsonMemo | None) -> int | None:
    if memo is None:
        return anchor_width(anchor)
    value = memo.get(f"anchor:{anchor}", lambda: anchor_width(anchor))
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 4 * 4096):
        return value
    return anchor_width(anchor)  # a damaged entry: computed, as without a memo


def _fast_window(pattern: str, flags: int, memo: JsonMemo | None) -> int:
    if memo is None:
        return fast_window(pattern, flags)
    value = memo.get(f"{flags}:{pattern}", lambda: fast_window(pattern, flags))
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_WINDOW else 0


def _needs(pattern: str, flags: int, memo: JsonMemo | None) -> frozenset[str]:
    if memo is None:
        return frozenset(_literals.required_literals(pattern, flags))
    value = memo.get(f"needs:{flags}:{pattern}", lambda: list(_literals.required_literals(pattern, flags)))
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        return frozenset(value)
    return frozenset(_literals.required_literals(pattern, flags))  # a damaged entry


def _whole_word(w: str) -> re.Pattern[str]:
    """A short context word as a word: no letter or digit glued to an end that is a letter or
    digit itself (``sin:`` and ``sin_`` end in punctuation, which is their boundary). An ASCII
    word and ASCII classes: the standard library compiles it several times faster than regex."""
    before = "(?<![a-z0-9])" if w[:1].isalnum() else ""
    after = "(?![a-z0-9])" if w[-1:].isalnum() else ""
    return re.compile(before + re.escape(w) + after)


_SHORT_WORD = 4


def _words_in(c: CompiledDetector, text: str) -> list[str]:
    """The detector's context words in ``text`` (lower-cased), short ones as whole words only."""
    seen = [word for word in c.context_words if word in text]
    if seen and c.whole_words:
        seen = [w for w in seen if w not in c.whole_words or c.whole_words[w].search(text)]
    return seen


def _gate_words(ctx: Context | None) -> tuple[str, ...]:
    if ctx is None or not ctx.required or not ctx.words:
        return ()
    words = tuple(w.lower() for w in ctx.words)
    # A cased non-ASCII letter (Cyrillic, Greek, accented Latin) could match the context check
    # through str.lower() but not through Hyperscan's ASCII-only caseless mode.
    if any(not ch.isascii() and ch.lower() != ch.upper() for w in words for ch in w):
        return ()
    return words


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    if not path.exists():
        raise ConfigError("no such detector file or folder", file=str(path))
    return [path]


def load_library(paths: Sequence[str | Path] | None = None, *, extra_paths: Sequence[str | Path] = (),
                 builtin: bool = True) -> DetectorLibrary:
    """Load detector files. ``paths=None`` means the built-in library (plus ``extra_paths``)."""
    roots: list[Path] = []
    if paths is None:
        if builtin:
            roots.append(BUILTIN_DIR)
    else:
        roots.extend(Path(p) for p in paths)
    roots.extend(Path(p) for p in extra_paths)
    errors: list[ConfigError] = []
    compiled: list[CompiledDetector] = []
    anchors: list[tuple[str, Callable[[str], ConfigError]]] = []
    memo, shapes = _fast_window_memo(), _shape_memo()
    seen: dict[str, str] = {}
    found = [f for root in roots for f in _files(root)]
    files = [str(f) for f in found]
    blobs: list[bytes | None] = []
    for f in found:
        try:
            blobs.append(f.read_bytes())
        except OSError as exc:
            errors.append(ConfigError(f"cannot read: {exc.strerror or exc}", file=str(f)))
            blobs.append(None)
    key = None if errors else _parsed_key(found, blobs)
    parsed = _cached_parse(key)
    if parsed is None:
        parsed = []
        for fi, (f, blob) in enumerate(zip(found, blobs, strict=True)):
            if blob is None:
                continue
            try:
                doc = load_yaml_bytes(blob, str(f))
            except ConfigError as exc:
                errors.append(exc)
                continue
            try:
                df = DetectorFile.model_validate(doc.data if doc.data is not None else {})
            except ValidationError as exc:
                errors.extend(pydantic_errors(doc, exc).errors)
                continue
            doc.data = None  # validated: the specs hold what counts
            parsed.append((fi, doc, df.detectors))
        if key is not None and not errors:
            _store_parse(key, parsed)
    h = hashlib.sha256()
    for fi, doc, detectors in parsed:
        h.update(found[fi].name.encode() + b"\0" + (blobs[fi] or b""))
        for i, det in enumerate(detectors):
            path = ("detectors", i)
            if det.id in seen:
                errors.append(doc.error((*path, "id"), f"duplicate detector id {det.id!r} "
                                                       f"(first in {seen[det.id]})"))
                continue
            seen[det.id] = f"{doc.file}:{doc.line_of(path)}"
            try:
                compiled.append(_compile_detector(det, doc, path, memo, shapes))
            except ConfigErrors as exc:
                errors.extend(exc.errors)
            if det.anchor is not None:
                anchors.append((det.anchor, functools.partial(doc.error, (*path, "anchor"))))
    errors.extend(_check_anchors(anchors))
    memo.save()
    shapes.save()
    if errors:
        raise ConfigErrors(errors)
    return DetectorLibrary(compiled, files, h.hexdigest())


Parsed = list[tuple[int, YamlDoc, list[Detector]]]  # (index of the file, its line map, its detectors)
_PARSED_FORMAT = 1


def _parsed_key(paths: Sequence[Path], blobs: Sequence[bytes | None]) -> Path | None:
    """Where the parsed and validated detector files are cached: keyed by their paths and bytes,
    the schema and the YAML line-mapping code, pydantic's and Python's versions."""
    where = cache_dir()
    if where is None:
        return None
    import pydantic

    from icap_dlp import _yaml
    from icap_dlp.detection import _schema

    h = hashlib.sha256(f"{_PARSED_FORMAT}; pydantic {pydantic.VERSION}; {sys.version}".encode())
    for source in (_schema.__file__, _yaml.__file__):
        h.update(b"\0" + Path(source).read_bytes())
    for f, blob in zip(paths, blobs, strict=True):
        h.update(b"\0%s\0%d\0" % (str(f).encode("utf-8", "surrogateescape"), len(blob or b"")) + (blob or b""))
    return where / f"detectors-{h.hexdigest()[:40]}.pickle"


def _cached_parse(key: Path | None) -> Parsed | None:
    """The detector files as an earlier load parsed and validated them (YAML and the schema cost
    more than half of a warm ``icap-dlp scan`` start-up), or None. Pickled, so only a file of this
    user's in a directory nobody else can write is read (as for compiled databases: whoever could
    plant one could run code as this user already); anything unreadable or unexpected: None."""
    import pickle

    raw = read_trusted(key) if key is not None else None
    if raw is None:
        return None
    try:
        value = pickle.loads(raw)
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, KeyError, TypeError,
            ValueError):  # a corrupt or outdated entry: parse again
        return None
    if not isinstance(value, list) or not all(
            isinstance(e, tuple) and len(e) == 3 and isinstance(e[0], int) and isinstance(e[1], YamlDoc)
            and isinstance(e[2], list) and all(isinstance(d, Detector) for d in e[2]) for e in value):
        return None
    return value


def _store_parse(key: Path, parsed: Parsed) -> None:
    import pickle

    write_private(key, pickle.dumps(parsed, protocol=pickle.HIGHEST_PROTOCOL), keep=32)


def _check_anchors(anchors: list[tuple[str, Callable[[str], ConfigError]]]) -> list[ConfigError]:
    """Anchors Hyperscan cannot compile, as errors at their YAML line. All anchors compile as one
    (cached) database; only when that fails is each compiled alone to name the culprits."""
    try:
        import hyperscan
    except ImportError:
        return []
    if not anchors:
        return []
    exprs = [a.encode() for a, _ in anchors]
    try:
        compile_database(exprs, [hyperscan.HS_FLAG_CASELESS] * len(exprs))
        return []
    except hyperscan.error:
        pass
    errors = []
    for expr, (_, error) in zip(exprs, anchors, strict=True):
        try:
            compile_database([expr], [hyperscan.HS_FLAG_CASELESS], cache=None)
        except hyperscan.error as exc:
            errors.append(error(f"invalid anchor: {exc}"))
    return errors


_DIGIT_RUNS = re.compile(r"\d+")


class Prefilter:
    """One pass over a text: which keywords occur, and the longest run of digits (capped).

    With Hyperscan installed (x86-64 Linux wheels), every keyword and digit gate is one literal or
    ``\\d{n}`` pattern in a single database scanned once with SINGLEMATCH (about 1 ms per MB);
    without it, ``str.__contains__`` per keyword and one regex pass for digit runs.
    """

    def __init__(self, keywords: Iterable[str], digit_gates: Iterable[int],
                 anchors: Sequence[str] = (), widths: Sequence[int | None] | None = None) -> None:
        self.keywords = sorted(set(keywords))
        self.gates = sorted(set(digit_gates))
        self.anchors = list(anchors)
        # Anchors of bounded width report only their end (start = end - width); unbounded ones
        # ask Hyperscan for the start of match, which costs more, so only they pay for it.
        # (``widths``: the same, computed at load: parsing 89 anchors costs a few ms per engine.)
        self.anchor_widths = list(widths) if widths is not None else [anchor_width(a) for a in self.anchors]
        self._db: Any = None
        self._local = threading.local()
        try:
            import hyperscan
        except ImportError:
            return
        exprs = [re.escape(k).encode("utf-8") for k in self.keywords]
        exprs += [b"\\d{%d}" % n for n in self.gates]
        single = hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SINGLEMATCH
        flags = [single] * len(exprs)
        exprs += [a.encode("utf-8") for a in self.anchors]
        flags += [hyperscan.HS_FLAG_CASELESS | (hyperscan.HS_FLAG_SOM_LEFTMOST if w is None else 0)
                  for w in self.anchor_widths]
        if not exprs:
            return
        self._db = compile_database(exprs, flags)

    @property
    def engine(self) -> str:
        return "hyperscan" if self._db is not None else "python"

    def _new_scratch(self) -> Any:
        import hyperscan

        return hyperscan.Scratch(self._db)

    def scan(self, text: str) -> tuple[set[str], int, dict[int, list[tuple[int, int]]] | None]:
        """(keywords present, longest digit gate met, anchor index -> [(start, end)] or None).

        Hyperscan reports byte offsets into the UTF-8 encoding; for non-ASCII text they are mapped
        back to character offsets in one walk over the sorted offsets. None means "no anchor
        information" (the pure-Python prefilter): every gated detector scans the whole text.
        """
        nk = len(self.keywords)
        ng = nk + len(self.gates)
        if self._db is not None:
            hits: set[int] = set()
            spans: dict[int, list[tuple[int, int]]] = {}
            widths = self.anchor_widths

            def on_match(i: int, start: int, end: int, flags: int, ctx: Any) -> None:
                if i < ng:
                    hits.add(i)
                    return
                j = i - ng
                w = widths[j]  # None when unbounded: Hyperscan reports the start
                span = (start if w is None else end - w if end > w else 0, end)
                have = spans.get(j)
                if have is None:
                    spans[j] = [span]
                else:
                    have.append(span)

            data = text.encode("utf-8", "surrogatepass")
            # Hyperscan's scratch space is per scan in progress: each thread has its own (the
            # event loop and the inspection thread may scan at the same time).
            scratch = getattr(self._local, "scratch", None)
            if scratch is None:
                scratch = self._local.scratch = self._new_scratch()
            self._db.scan(data, match_event_handler=on_match, scratch=scratch)
            found = {self.keywords[i] for i in hits if i < nk}
            longest = max((self.gates[i - nk] for i in hits if i >= nk), default=0)
            if spans and len(data) != len(text):
                spans = _chars_from_bytes(data, spans)
            return found, longest, spans
        lower = text.lower()
        found = {k for k in self.keywords if k in lower}
        longest = 0
        if self.gates:
            longest = max((len(m) for m in _DIGIT_RUNS.findall(text)), default=0)
        return found, longest, None


def anchor_width(anchor: str) -> int | None:
    """Maximum width of an anchor in UTF-8 bytes, or None if unbounded (or not parseable here)."""
    try:
        hi: int = re_parser.parse(anchor, re.IGNORECASE).getwidth()[1]
    except (re.error, OverflowError, RecursionError):
        return None
    if hi >= re_constants.MAXREPEAT or hi > 4096:
        return None
    # getwidth() counts characters; a non-ASCII literal is up to 4 bytes in UTF-8.
    return hi if anchor.isascii() else 4 * hi


def _chars_from_bytes(data: bytes, spans: dict[int, list[tuple[int, int]]]) -> dict[int, list[tuple[int, int]]]:
    """Map UTF-8 byte offsets to character offsets (an offset inside a character moves to its end)."""
    offsets = sorted({b for ss in spans.values() for s in ss for b in s})
    to_char: dict[int, int] = {}
    pb = pc = 0
    for b in offsets:
        nb = b
        while nb < len(data) and data[nb] & 0xC0 == 0x80:  # a continuation byte: not a boundary
            nb += 1
        if nb != pb:
            pc += len(data[pb:nb].decode("utf-8", "surrogatepass"))
            pb = nb
        to_char[b] = pc
    return {i: [(to_char[a], to_char[b]) for a, b in ss] for i, ss in spans.items()}


def _separator_forms(anchor: str) -> str:
    """An anchor whose spaces also match ``_`` and ``-``: field names and CSV headers write
    ``ni_no`` and ``tax-file-number`` for the words ``ni no`` and ``tax file``, and
    ``business_abn,`` for ``abn ``."""
    out, depth, escaped = [], 0, False
    for i, ch in enumerate(anchor):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "[":
            depth += 1
        elif ch == "]" and depth:
            depth -= 1
        elif ch == " " and not depth:
            # a trailing space (``abn |``: the word ends there) also matches the name's end
            out.append("(?:[ _-]|\\b)" if i + 1 == len(anchor) or anchor[i + 1] in "|)" else "[ _-]")
            continue
        out.append(ch)
    return "".join(out)


def _label_words(label: str) -> str:
    """A label's words as prose writes them: ``business_abn`` -> `` business abn `` (spaces for
    _ and -, and at both ends, so ``abn `` and ``pan:``-style words see the name's end)."""
    return " " + label.replace("_", " ").replace("-", " ").replace("\0", " \0 ") + " "


def _own_words(p: CompiledPattern, text: str, start: int, end: int, w: int, seen: list[str]) -> list[str]:
    """The context words beside a value that label it rather than a neighbour: a word belongs to
    the nearest value of the pattern (``NIN 10689775028. Refund ref. 69498807714``: ``NIN`` is
    the first number's), a word after the value never crosses a line, and a word on an earlier
    line does not count for a value whose own line has a label (``주문번호: 2290250`` under
    ``운전면허번호: I2641011``)."""
    rx = p.rx
    lo = start - w if start > w else 0
    before = text[lo:start].lower()
    after = text[end:end + w].lower()
    ls = text.rfind("\n", 0, start) + 1
    own_label = ls > lo and any(ch in text[ls:start] for ch in ":=")
    nl_after = after.find("\n")
    out = []
    for word in seen:
        q = before.rfind(word)
        if q >= 0:
            qa = lo + q + len(word)
            if not (own_label and qa <= ls) and rx.search(text, qa, start) is None:
                out.append(word)
                continue
        q = after.find(word)
        if q >= 0 and (nl_after < 0 or q < nl_after):
            qa = end + q
            if rx.search(text, end, qa) is None and rx.search(text, qa + len(word), qa + len(word) + w) is None:
                out.append(word)
    return out


def _table_after_header(text: str, at: int) -> int:
    """If ``at`` lies in the header line of a delimited table (CSV, TSV, a Markdown table: a line
    with a delimiter, not preceded by a line with as many of it, followed by one or more that
    have as many), the end of the table's last row; else -1."""
    ls = text.rfind("\n", 0, at) + 1
    le = text.find("\n", at)
    if le < 0 or le - ls > 4096:
        return -1
    line = text[ls:le]
    delim = max(",\t;|", key=line.count)
    count = line.count(delim)
    if not count:
        return -1
    if ls and text.count(delim, text.rfind("\n", 0, ls - 1) + 1, ls - 1) == count:
        return -1  # a row of a table that started above, not its header
    end = -1
    while True:
        ne = text.find("\n", le + 1)
        row_end = len(text) if ne < 0 else ne
        if text.count(delim, le + 1, row_end) != count:
            return end
        end = row_end
        if ne < 0:
            return end
        le = ne


def _windows(spans: list[tuple[int, int]], size: int, limit: int) -> list[tuple[int, int]]:
    """Merged [start - size, end + size] windows around anchor matches, within [0, limit]."""
    out: list[tuple[int, int]] = []
    cur_lo = cur_hi = -1
    for s, e in sorted(spans):
        lo = s - size
        hi = e + size
        if lo <= cur_hi:
            if hi > cur_hi:
                cur_hi = hi
        else:
            if cur_hi >= 0:
                out.append((cur_lo, cur_hi))
            cur_lo, cur_hi = lo, hi
    if cur_hi >= 0:
        out.append((cur_lo, cur_hi))
    # Sorted and merged: only the first window can start before 0, only the last end past limit.
    if out and out[0][0] < 0:
        out[0] = (0, out[0][1])
    if out and out[-1][1] > limit:
        out[-1] = (out[-1][0], limit)
    return out


def _resolve_overlaps(findings: list[Finding]) -> list[Finding]:
    """Keep non-overlapping findings, best first: higher score, then more evidence (``evidence``),
    then longer span, then detector id.

    Findings only compete inside a cluster of overlapping spans (a connected run in start order),
    so the ranking runs per cluster; most findings in real text stand alone and are kept as they
    are. Within a cluster, kept spans are disjoint and stay sorted by start (bisect).
    """
    if len(findings) < 2:
        return findings
    ordered = sorted(findings, key=_START_END)
    out: list[Finding] = []
    i, n = 0, len(ordered)
    while i < n:
        j, reach = i + 1, ordered[i].end
        while j < n and ordered[j].start < reach:
            reach = max(reach, ordered[j].end)
            j += 1
        if j == i + 1:
            out.append(ordered[i])
        else:
            out.extend(_rank_cluster(ordered[i:j]))
        i = j
    return out


_START_END = operator.itemgetter(4, 5)


def evidence(f: Finding) -> int:
    """What a finding's own checks found, read from the explanation the engine wrote for it: 2 for
    a context word, 1 for a valid validator verdict. Scores are capped at 1.0, so two detectors
    claiming the same digits (a South African id and a Korean resident number, a Canadian SIN and
    a US SSN) can tie on score; then the one whose validator and context both agree wins."""
    return 2 * any(p.startswith("context ") for p in f.explanation.split("; ")[1:]) + validated(f)


def validated(f: Finding) -> bool:
    """Its detector's validator confirmed it (a checksum, a date, a known prefix ...)."""
    return any(p.endswith(" valid") for p in f.explanation.split("; ")[1:])


def _rank_cluster(cluster: list[Finding]) -> list[Finding]:
    ranked = sorted(cluster, key=lambda f: (-f.score, -evidence(f), -(f.end - f.start), f.detector_id, f.start))
    starts: list[int] = []
    kept: list[Finding] = []
    for f in ranked:
        k = bisect.bisect_right(starts, f.start)
        if k and kept[k - 1].end > f.start:
            continue
        if k < len(kept) and kept[k].start < f.end:
            continue
        starts.insert(k, f.start)
        kept.insert(k, f)
    return kept


class Engine:
    """Scans text with a chosen set of detectors from a library."""

    def __init__(self, library: DetectorLibrary, detectors: Iterable[str] | None = None, *,
                 ner: NerConfig | None = None, ner_model: str | None = None, regex_timeout: float = 1.0,
                 max_ner_chars: int | None = None, ner_timeout: float | None = None,
                 on_timeout: Literal["raise", "skip"] = "raise", lazy: bool = False) -> None:
        """Compile the chosen detectors (all of ``library`` when ``detectors`` is None).

        ``ner`` configures NER detectors (``ner_model`` and ``max_ner_chars`` are shorthands for
        its fields). ``regex_timeout`` is the time budget of one regex call (one pattern over one
        window of a text) that finds nothing more: a call that runs out after finding matches (a
        dense text) goes on from its last match with a new budget; the message budget
        (``message_budget``) bounds them all. When a budget runs out, ``on_timeout="raise"`` raises
        ``InspectionError(reason="timeout")`` (the failure policy decides, never a silent miss);
        ``"skip"`` drops that pattern's findings for that text and counts it in ``timeouts``.
        NER has one budget per call (``NerConfig.timeout``), handled the same way.

        The detectors' patterns are compiled (and libphonenumber loaded) here, so that no request
        pays for it, unless ``lazy`` (a one-shot scan): then each when a text first needs it.
        """
        ids = list(library.compiled) if detectors is None else list(detectors)
        unknown = [i for i in ids if i not in library]
        if unknown:
            raise ConfigError(f"unknown detector ids: {', '.join(sorted(unknown))}")
        self.library = library
        chosen = [library.compiled[i] for i in sorted(set(ids))]
        self.regex_detectors = [c for c in chosen if c.spec.kind == "regex"]
        if not lazy:
            for c in self.regex_detectors:
                for p in c.patterns:
                    p.rx  # noqa: B018 (compiled and kept by the cached property)
        self.ner_detectors = [c for c in chosen if c.spec.kind == "ner"]
        self.regex_timeout = regex_timeout
        self.pattern_gates = True  # off only to prove, in tests, that the gates change no finding
        self._message = threading.local()  # per thread: the current message's budget (message_budget)
        self.on_timeout = on_timeout
        self.timeouts = 0
        self.last_ner_seconds = 0.0
        anchored = [c for c in self.regex_detectors if c.spec.anchor]
        # Without any keyword present nor anchor hit, a text shorter in digits than this floor
        # meets no detector's gate (0 when some detector is gated on nothing at all).
        unkeyed = [c for c in self.regex_detectors if not c.keywords and not c.required_words and not c.spec.anchor]
        self._digit_floor = min((c.spec.min_digits or 0 for c in unkeyed), default=1 << 30)
        self._context_cache: dict[str, frozenset[str]] = {}
        self._anchor_index = {c.id: i for i, c in enumerate(anchored)}
        # Per detector, what the prefilter's answer must hold for it to run on a text (set
        # operations in C, not a generator per detector and text).
        self._gates = [(c, frozenset(c.keywords), frozenset(c.required_words), c.spec.min_digits or 0,
                        self._anchor_index.get(c.id, -1)) for c in self.regex_detectors]
        # Detectors gated by words (keywords, a required context) are looked up from the words the
        # prefilter found: a library of many context-gated detectors (national ids of 20 countries)
        # costs nothing per text that holds none of their words. The rest are always visited.
        self._ungated = tuple(i for i, c in enumerate(self.regex_detectors) if not (c.keywords or c.required_words))
        self._gated_by: dict[str, tuple[int, ...]] = {}
        for i, c in enumerate(self.regex_detectors):
            for w in {*c.keywords, *c.required_words}:
                self._gated_by[w] = (*self._gated_by.get(w, ()), i)
        anchor_forms = [_separator_forms(c.spec.anchor or "") for c in anchored]
        self.prefilter = Prefilter([*(k for c in self.regex_detectors for k in (*c.keywords, *c.required_words)),
                                    *(k for c in self.regex_detectors for p in c.patterns for k in p.needs)],
                                   (c.spec.min_digits for c in self.regex_detectors if c.spec.min_digits),
                                   anchor_forms,
                                   # a separator form of an anchor has its width unless it was rewritten
                                   [c.anchor_width if f == (c.spec.anchor or "") else anchor_width(f)
                                    for c, f in zip(anchored, anchor_forms, strict=True)])
        # Label anchors: the anchor of a detector whose context is required, made of its words
        # (no digit class, no repetition: not the shape of the value). Their separator forms
        # (``ni[ _-]no``) stand for the words written as field names, so a hit counts as one of
        # the required words; in the key a value sits under (``{"aadhaar": "2345 6789 0124"}``)
        # one opens the whole value, and in a table's header line the rows below. Shape anchors
        # (``@`` of an e-mail, a digit pattern) keep their windows.
        det_index = {c.id: i for i, c in enumerate(self.regex_detectors)}
        self._label_anchors = {i: det_index[c.id] for i, c in enumerate(anchored)
                               if c.required_words and not re.search(r"\\d|\{", c.spec.anchor or "")}
        self._anchor_rx = [(i, re.compile(anchor_forms[i], re.IGNORECASE)) for i in self._label_anchors]
        self._key_anchor_cache: dict[str, frozenset[int]] = {}
        if not lazy and any(c.spec.validator and c.spec.validator.name == "phone" for c in self.regex_detectors):
            V.warm_up_phone()  # import libphonenumber now, not on the first request
        ner = ner or NerConfig()
        if ner_model is not None:
            ner = dataclasses.replace(ner, model=ner_model)
        if max_ner_chars is not None:
            ner = dataclasses.replace(ner, max_chars=max_ner_chars)
        if ner_timeout is not None:
            ner = dataclasses.replace(ner, timeout=ner_timeout)
        self.ner_config = ner
        self._ner: Any = None
        if self.ner_detectors:
            from icap_dlp.detection._ner import NerAdapter

            self._ner = NerAdapter(ner, {c.spec.ner_label or "": c for c in self.ner_detectors})

    @property
    def needs_ner(self) -> bool:
        return bool(self.ner_detectors)

    def scan(self, text: str) -> list[Finding]:
        return self.scan_segments([Segment(text, "text")])[0]

    def scan_all(self, text: str) -> list[Finding]:
        """Every candidate, before overlap resolution (used by rule examples)."""
        return self._scan_regex(text, resolve=False)

    def scan_segments(self, segments: Sequence[Segment]) -> list[list[Finding]]:
        """Findings per segment. ``last_ner_seconds`` holds the NER share of this call."""
        out = [self._scan_regex(s.text, key=self.structure_context(s)) for s in segments]
        self.last_ner_seconds = 0.0
        if self._ner is not None:
            t = time.perf_counter()
            try:
                ner = self._ner.scan([s.text for s in segments])
            except InspectionError:
                self.timeouts += 1
                log.warning("NER timeout", extra={"fields": {"budget_s": self.ner_config.timeout}})
                if self.on_timeout == "raise":
                    raise
                ner = [[] for _ in segments]
            finally:
                self.last_ner_seconds = time.perf_counter() - t
            out = [_resolve_overlaps(a + b) if b else a for a, b in zip(out, ner, strict=True)]
        return out

    def structure_context(self, segment: Segment) -> str:
        """Words of the segment's structure that count as context for every value found in it.

        The one hook for structure context: today the segment's own ``context`` (a JSON value's
        key path), lower-cased. A detector's keywords and ``context.words`` found here count as if
        they stood beside the value.
        """
        return segment.context.lower()

    def _context_keywords(self, context: str) -> frozenset[str]:
        found = self._context_cache.get(context)
        if found is None:
            if len(self._context_cache) > 4096:
                self._context_cache.clear()
            ended = context + " "  # the key's last name ends there (``abn `` in ``business_abn``)
            found = self._context_cache[context] = frozenset(k for k in self.prefilter.keywords if k in ended)
        return found

    def _key_anchors(self, key: str) -> frozenset[int]:
        found = self._key_anchor_cache.get(key)
        if found is None:
            if len(self._key_anchor_cache) > 4096:
                self._key_anchor_cache.clear()
            found = self._key_anchor_cache[key] = frozenset(i for i, rx in self._anchor_rx if rx.search(key))
        return found

    def _scan_regex(self, text: str, resolve: bool = True, key: str = "") -> list[Finding]:
        if not text:
            return []
        present, longest_digits, anchors = self.prefilter.scan(text)
        key_anchors: frozenset[int] = frozenset()
        if key:  # keywords, required words and anchors in the key the text sits under count as present
            present = present | self._context_keywords(key)
            key_anchors = self._key_anchors(key)
        if (not present and longest_digits < self._digit_floor and anchors is not None and not anchors
                and not key_anchors):
            return []  # no detector's gate is met: none can match
        found: list[Finding] = []
        n = len(text)
        # The gates read every key of the context (``customers phone``); a value's label is its
        # own key only (``team`` under ``customers`` is not a customer's name).
        structure = TextStructure(text, key.rpartition(" ")[2])
        budget = self.regex_timeout
        clock = time.perf_counter
        message: tuple[float, float] | None = getattr(self._message, "budget", None)  # see message_budget
        until = message[0] if message is not None else None
        gate_words = self.pattern_gates and text.isascii()  # see CompiledPattern.needs
        labels = key_anchors
        if anchors:
            labels = labels.union(a for a in anchors if a in self._label_anchors)
        visit: Sequence[int] = self._ungated
        if present or labels:
            gated = {i for w in present for i in self._gated_by.get(w, ())}
            gated.update(self._label_anchors[a] for a in labels)
            visit = sorted(gated.union(visit)) if gated else visit
        gates = self._gates
        for di in visit:
            c, keywords, required, min_digits, anchor = gates[di]
            if keywords and keywords.isdisjoint(present):
                continue
            if required and required.isdisjoint(present) and anchor not in labels:
                continue  # none of its words in the text, nor in the key the text sits under
            if longest_digits < min_digits:
                continue
            spans = [(0, n)]
            if anchors is not None and anchor >= 0 and anchor not in key_anchors:
                hits = anchors.get(anchor)
                if not hits:
                    continue
                spans = _windows(hits, c.spec.anchor_window, n)
                if anchor in self._label_anchors:  # in a table's header line: covers its column
                    tables = [(h[0], e) for h in hits if (e := _table_after_header(text, h[1] - 1)) > h[1]]
                    if tables:
                        spans = _windows([*spans, *tables], 0, n)
            for p in c.patterns:
                if gate_words and p.needs and p.needs.isdisjoint(present):
                    continue  # none of the words every match holds is in the text
                rx = p.rx
                fast = p.fast_window
                try:
                    for lo, hi in spans:
                        pos = lo
                        while True:
                            # One regex call has the pattern budget (the ReDoS guard); the
                            # message budget bounds them all. A call that times out after it
                            # found matches was busy with a dense text, not stuck in one attempt:
                            # it goes on from its last match with a new budget.
                            left = budget
                            if until is not None:
                                left = until - clock()
                                if left <= 0:
                                    raise TimeoutError
                                if left > budget:
                                    left = budget
                            # The timeout costs a CPU-clock read per call; a window where the
                            # pattern's worst case is provably small does without.
                            found_iter = (rx.finditer(text, pos, hi) if hi - pos <= fast
                                          else rx.finditer(text, pos, hi, timeout=left))
                            began = pos
                            resume = False
                            while True:
                                try:
                                    m = next(found_iter)
                                except StopIteration:
                                    break
                                except TimeoutError:
                                    if pos == began:
                                        raise  # not one match in a whole budget: a runaway pattern
                                    resume = True
                                    break
                                pos = m.end()
                                if hi < n and pos == hi:
                                    # The window may have cut the match short (a long token):
                                    # match again from the same start on the whole text.
                                    m = rx.match(text, m.start(), timeout=left)
                                    if m is None:
                                        continue
                                # Windows are disjoint (merged), so no start is seen twice.
                                f = self._candidate(c, p, m, text, structure)
                                if f is not None:
                                    found.append(f)
                            if not resume:
                                break
                except TimeoutError:
                    self.timeouts += 1
                    if message is not None and clock() >= message[0]:
                        self._message_timeout(message[1])
                        continue
                    log.warning("regex timeout", extra={"fields": {"detector": c.id, "pattern": p.name,
                                                                   "budget_s": budget}})
                    if self.on_timeout == "raise":
                        # Never a silent miss: the text could not be inspected, so the failure
                        # policy ("timeout": open or closed) decides, and the answer is audited.
                        raise InspectionError(f"detector {c.id} pattern {p.name} timed out", "timeout") from None
        return _resolve_overlaps(found) if resolve else found

    def message_budget(self, seconds: float) -> tuple[float, float] | None:
        """Start a time budget (wall-clock seconds) for every scan this thread makes until
        :meth:`end_message_budget` with the returned token: one message, or one SSE event. A scan
        that reaches it raises ``InspectionError(reason="timeout")`` like a pattern over its own
        budget (``regex_timeout`` guards one regex call; this bounds the whole message: its texts,
        their windows, its batches). A budget started inside another that ends first keeps the
        other. The state is (its end, its seconds), per thread."""
        before: tuple[float, float] | None = getattr(self._message, "budget", None)
        budget = (time.perf_counter() + seconds, seconds)
        self._message.budget = before if before is not None and before[0] < budget[0] else budget
        return before

    def end_message_budget(self, token: tuple[float, float] | None) -> None:
        self._message.budget = token

    def _message_timeout(self, seconds: float) -> None:
        log.warning("inspection timeout", extra={"fields": {"budget_s": seconds}})
        if self.on_timeout == "raise":
            raise InspectionError(f"inspection over its {seconds:g} s budget", "timeout") from None

    def _candidate(self, c: CompiledDetector, p: CompiledPattern, m: Any, text: str,
                   structure: TextStructure) -> Finding | None:
        start, end = m.span(p.group)
        if end <= start:
            return None
        if glued_number(text, *m.span()):  # the whole match: a prefix the pattern reads (IT07...) is no glue
            return None
        value = text[start:end]
        if (c.allow_values or c.allow_patterns) and (
                value in c.allow_values or any(ap.fullmatch(value) for ap in c.allow_patterns)):
            return None
        which = 0  # index into p.scores: +1 valid, +2 context; 4 unknown (+1 context)
        why = p.why
        if c.validator is not None:
            verdict = c.validator(value, **c.validator_args) if c.validator_args else c.validator(value)
            if verdict is _INVALID and p.shorter_on_invalid:
                end, verdict = self._shorter(c, p, m, text, start, end)
                value = text[start:end]
            if verdict is _INVALID:
                return None
            if verdict is _VALID:
                which = 1
                why += c.why_valid
            else:
                which = 4
                why += c.why_unknown
        ctx = c.context
        if ctx is not None:
            w = ctx.window
            # Before and after, lower-cased once; NUL keeps a word from spanning the two.
            around = (text[start - w if start > w else 0:start] + "\0" + text[end:end + w]).lower()
            seen = _words_in(c, around)
            if seen and (ctx.required or p.context_required):
                seen = _own_words(p, text, start, end, w, seen)
            if not seen and (ctx.required or p.context_required or which == 4):
                # The label of the value's structure (JSON key, CSV header, key= line, HTML
                # header) counts like a word beside it. Looked up only where it decides whether
                # there is a finding at all (a required word, an unconfirmed value): a label is
                # dearer than the window, and a mere boost does not need it.
                label = structure.label(start, end)
                if label:
                    # field names write words with _ and - (``nhs_no``, ``tax-file-number``)
                    seen = _words_in(c, label) or _words_in(c, _label_words(label))
                    if seen:
                        why += "; label"
            if seen:
                which += 1 if which == 4 else 2
                why += "; context " + ",".join(seen[:3])
            elif ctx.required or p.context_required:
                return None
        # tuple.__new__ directly: the named tuple's own __new__ is a Python-level call.
        return _new_tuple(Finding, (*c.head, start, end, p.scores[which], why))

    @staticmethod
    def _shorter(c: CompiledDetector, p: CompiledPattern, m: Any, text: str, start: int,
                 end: int) -> tuple[int, V.Verdict]:
        """The longest shorter match, cut at a space inside the value, that the validator accepts
        (an IBAN followed by a currency code: the pattern took the code as one more group)."""
        rx = p.rx
        cut = text.rfind(" ", start, end)
        while cut > start:
            m2 = rx.match(text, m.start(), cut)
            if m2 is not None and m2.span(p.group) == (start, cut):
                verdict = c.validator(text[start:cut], **c.validator_args) if c.validator else _INVALID
                if verdict is not _INVALID:
                    return cut, verdict
            cut = text.rfind(" ", start, cut)
        return end, _INVALID


_ASCII_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_DIGITS = frozenset("0123456789")
_ASCII_LETTER = re.compile(r"[A-Za-z]")


def glued_number(text: str, start: int, end: int) -> bool:
    """The engine's one token-boundary rule: is ``text[start:end]`` (a pattern's whole match) a
    numeric value (no ASCII letter in it) whose first digit follows, or whose last digit precedes,
    an ASCII letter? Then it is a piece of a longer token (``req=4893866800257f7a``: a hex request
    id, a build hash) and not a card, an RRN or a phone number. Letters the pattern matches itself
    (a VAT number's country code, a keyword before the value) are part of the match, not glue.
    Digits beside the value are the patterns' own business (their lookarounds); non-ASCII letters
    (a Hangul particle: ``010-1234-5678입니다``) and punctuation do not glue.
    """
    glued = ((start > 0 and text[start] in _DIGITS and text[start - 1] in _ASCII_LETTERS)
             or (end < len(text) and text[end - 1] in _DIGITS and text[end] in _ASCII_LETTERS))
    return glued and _ASCII_LETTER.search(text, start, end) is None


_new_tuple = tuple.__new__
_VALID = V.Verdict.VALID
_INVALID = V.Verdict.INVALID
