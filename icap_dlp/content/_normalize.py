"""Normalization before detection, with an offset map back to the original text.

Detectors see text in one canonical form: NFKC (full-width digits and letters, ligatures),
format characters removed (zero-width space and joiners, soft hyphen, bidi controls, word joiner,
BOM, variation selectors), decimal digits of any script as ASCII digits, no-break and other
spaces as a plain space, and Latin look-alikes from Cyrillic and Greek as Latin letters inside
words that also hold ASCII letters or digits (an all-Cyrillic or all-Greek word is left alone:
it is a word, not a disguise).

Findings are spans into the normalized text; :meth:`Normalized.original_span` sends each one back
to the span of the original text it came from, the invisible characters inside it included, so
redaction removes the original. ASCII text (the common case) takes a fast path: no copy and no
map (``str.isascii`` is a flag lookup in CPython).
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from dataclasses import dataclass

# Latin look-alikes (Unicode confusables restricted to Cyrillic and Greek letters whose glyph is
# a Latin letter in common fonts).
CONFUSABLES: dict[str, str] = {
    # Cyrillic
    "\u0430": "a", "\u0432": "b", "\u0435": "e", "\u043a": "k", "\u043c": "m", "\u043d": "h",
    "\u043e": "o", "\u0440": "p",
    "\u0441": "c", "\u0442": "t", "\u0443": "y", "\u0445": "x", "\u0455": "s", "\u0456": "i",
    "\u0458": "j", "\u0501": "d",
    "\u051b": "q", "\u051d": "w", "\u04bb": "h", "\u04cf": "l", "\u0410": "A", "\u0412": "B",
    "\u0415": "E", "\u041a": "K",
    "\u041c": "M", "\u041d": "H", "\u041e": "O", "\u0420": "P", "\u0421": "C", "\u0422": "T",
    "\u0423": "Y", "\u0425": "X",
    "\u0405": "S", "\u0406": "I", "\u0408": "J", "\u051a": "Q", "\u051c": "W", "\u04ae": "Y", "\u04c0": "I",
    # Greek
    "\u0391": "A", "\u0392": "B", "\u0395": "E", "\u0396": "Z", "\u0397": "H", "\u0399": "I",
    "\u039a": "K", "\u039c": "M",
    "\u039d": "N", "\u039f": "O", "\u03a1": "P", "\u03a4": "T", "\u03a5": "Y", "\u03a7": "X",
    "\u03bf": "o", "\u03bd": "v",
    "\u03b9": "i", "\u03ba": "k", "\u03c1": "p", "\u03c5": "u", "\u03c7": "x", "\u03b1": "a",
    "\u03c4": "t", "\u03f2": "c",
    "\u03f3": "j",
    # Latin (IPA)
    "\u0261": "g",
}

_CONFUSABLE_CHARS = re.compile("[" + "".join(CONFUSABLES) + "]")
_WORD = re.compile(r"\w+")
_ASCII_ALNUM = re.compile(r"[A-Za-z0-9]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


@functools.cache
def _format_chars() -> frozenset[str]:
    """Characters removed: Unicode format (Cf) characters, variation selectors, and the default
    ignorable fillers that render as nothing (combining grapheme joiner, Hangul fillers)."""
    out = {chr(c) for r in (range(0x80, 0x20000), range(0xE0000, 0xE1000))
           for c in r if unicodedata.category(chr(c)) == "Cf"}
    out.update(chr(c) for c in range(0xFE00, 0xFE10))
    out.update(chr(c) for c in range(0xE0100, 0xE01F0))
    out.update(("\u034f", "\u115f", "\u1160", "\u3164", "\uffa0", "\u180b", "\u180c", "\u180d", "\u180f"))
    return frozenset(out)


@functools.lru_cache(maxsize=4096)
def _map_char(c: str) -> str:
    """The normalized form of one non-ASCII character (confusables are handled per word)."""
    if c in _format_chars():
        return ""
    cat = unicodedata.category(c)
    if cat in ("Zs", "Zl", "Zp"):
        return " "
    if cat == "Nd":
        return str(unicodedata.decimal(c))
    out = unicodedata.normalize("NFKC", c)
    if out != c and any(unicodedata.category(x) == "Nd" and not x.isascii() for x in out):
        out = "".join(str(unicodedata.decimal(x)) if unicodedata.category(x) == "Nd" else x for x in out)
    return out


@dataclass(frozen=True, slots=True)
class Normalized:
    """Normalized text and the map back to the original (``None`` when nothing changed)."""

    text: str
    # Piece starts in the normalized text, the original offset of each, and whether the piece is
    # a run copied as it was (True) or the output of one changed character (False).
    _starts: tuple[int, ...] | None = None
    _origins: tuple[int, ...] = ()
    _runs: tuple[bool, ...] = ()

    @property
    def changed(self) -> bool:
        return self._starts is not None

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of normalized ``[start, end)`` (every character that produced it)."""
        if self._starts is None:
            return start, end
        s = self._orig_start(start)
        return (s, s) if end <= start else (s, self._orig_end(end))

    def _orig_start(self, pos: int) -> int:
        starts = self._starts
        assert starts is not None
        p = bisect.bisect_right(starts, pos) - 1
        return self._origins[p] + (pos - starts[p] if self._runs[p] else 0)

    def _orig_end(self, pos: int) -> int:
        if pos <= 0:
            return self._orig_start(0)
        starts = self._starts
        assert starts is not None
        p = bisect.bisect_right(starts, pos - 1) - 1
        return self._origins[p] + (pos - starts[p] if self._runs[p] else 1)


def normalize(text: str) -> Normalized:
    """Normalize ``text`` for detection (see the module docstring)."""
    if text.isascii():
        return Normalized(text)
    confusable_at = _confusables_in_mixed_words(text)
    out: list[str] = []
    starts: list[int] = []
    origins: list[int] = []
    runs: list[bool] = []
    n_out = 0
    run_from = 0  # original offset where the current unchanged run began
    changed = False
    for m in _NON_ASCII.finditer(text):
        i = m.start()
        c = m.group()
        mapped = confusable_at.get(i) if confusable_at else None
        if mapped is None:
            mapped = _map_char(c)
        if mapped == c:
            continue
        changed = True
        if i > run_from:  # the unchanged run before this character
            starts.append(n_out)
            origins.append(run_from)
            runs.append(True)
            out.append(text[run_from:i])
            n_out += i - run_from
        if mapped:
            starts.append(n_out)
            origins.append(i)
            runs.append(False)
            out.append(mapped)
            n_out += len(mapped)
        run_from = i + 1
    if not changed:
        return Normalized(text)  # non-ASCII, but already in normal form
    if run_from < len(text) or not starts:  # (only removed characters: the end maps to the end)
        starts.append(n_out)
        origins.append(run_from)
        runs.append(True)
        out.append(text[run_from:])
    return Normalized("".join(out), tuple(starts), tuple(origins), tuple(runs))


def _confusables_in_mixed_words(text: str) -> dict[int, str]:
    """Offsets of look-alike letters inside words that also hold ASCII letters or digits."""
    if _CONFUSABLE_CHARS.search(text) is None:
        return {}
    out: dict[int, str] = {}
    for w in _WORD.finditer(text):
        word = w.group()
        if _ASCII_ALNUM.search(word) is None:
            continue
        for c in _CONFUSABLE_CHARS.finditer(word):
            out[w.start() + c.start()] = CONFUSABLES[c.group()]
    return out
