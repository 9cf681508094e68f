"""The words a pattern cannot match without: a gate that skips the pattern on texts without them.

``required_literals(pattern, flags)`` returns strings such that every match of the pattern holds
at least one of them (compared without case), or ``()`` when it cannot tell. The prefilter finds
them in the same Hyperscan pass as the detectors' keywords, and a pattern none of whose strings
occurs in an ASCII text is not run there: us-ssn's ``ssn: 123 45 6789`` form searched every
window of a digit anchor, about a tenth of the engine's time on log-like text.

The analysis reads Python's own regex parser, which agrees with the ``regex`` module on the
syntax the library uses. Anything it parses differently fails the parse or the checks below and
gets no gate: a literal outside ``[a-z0-9 _#./:@+-]`` (``{e<=1}``, fuzzy matching in ``regex``,
is literal text to Python's parser), a string shorter than three characters, more than 64
strings. Only ASCII texts are gated: under IGNORECASE a Unicode pattern also matches U+017F (long s) for
``s`` and the Kelvin sign for ``k``, which an ASCII keyword search would not see.
"""

from __future__ import annotations

import re
import re._constants as C
import re._parser as P
import warnings
from typing import Any

MIN_LENGTH = 3
MAX_STRINGS = 64
_ALLOWED = frozenset("abcdefghijklmnopqrstuvwxyz0123456789 _#./:@+-")
_FLAGS = re.IGNORECASE | re.MULTILINE | re.DOTALL | re.VERBOSE


def required_literals(pattern: str, flags: int = 0) -> tuple[str, ...]:
    """Strings one of which every match holds (lower-case, sorted), or ``()``."""
    try:
        with warnings.catch_warnings():  # "possible nested set" and the like: regex syntax, no gate
            warnings.simplefilter("error")
            parsed = P.parse(pattern, flags & _FLAGS)
    except (re.error, ValueError, OverflowError, RecursionError, Warning):
        return ()
    best = _sequence(list(parsed))
    if best is None or len(best) > MAX_STRINGS or min(map(len, best)) < MIN_LENGTH:
        return ()
    if any(not set(s) <= _ALLOWED for s in best):
        return ()
    return tuple(sorted(best))


def _exact(item: tuple[Any, Any]) -> set[str] | None:
    """The strings an item matches when it matches only fixed strings (a literal, an
    alternation of fixed strings, a group of them), else None."""
    op, av = item
    if op is C.LITERAL:
        return {chr(av).lower()}
    if op is C.SUBPATTERN:
        return _exact_seq(list(av[-1]))
    if op is C.BRANCH:
        out: set[str] = set()
        for alt in av[1]:
            got = _exact_seq(list(alt))
            if got is None:
                return None
            out |= got
            if len(out) > MAX_STRINGS:
                return None
        return out
    return None


def _join(heads: set[str], tails: set[str]) -> set[str] | None:
    """Every head followed by every tail, or None past ``MAX_STRINGS``."""
    out = {a + b for a in heads for b in tails}
    return out if len(out) <= MAX_STRINGS else None


def _exact_seq(items: list[tuple[Any, Any]]) -> set[str] | None:
    out: set[str] | None = {""}
    for item in items:
        got = _exact(item)
        out = _join(out, got) if got is not None and out is not None else None
        if out is None:
            return None
    return out


def _lead(item: tuple[Any, Any]) -> set[str]:
    """The fixed strings an item's matches start with ({""}: none known)."""
    op, av = item
    if op is C.SUBPATTERN:
        return _lead_seq(list(av[-1]))
    if op is C.BRANCH:
        out: set[str] = set()
        for alt in av[1]:
            out |= _lead_seq(list(alt))
            if len(out) > MAX_STRINGS:
                return {""}
        return out
    return {""}


def _lead_seq(items: list[tuple[Any, Any]]) -> set[str]:
    out = {""}
    for item in items:
        got = _exact(item)
        if got is None:
            return _join(out, _lead(item)) or out
        joined = _join(out, got)
        if joined is None:
            return {""}
        out = joined
    return out


def _sequence(items: list[tuple[Any, Any]]) -> set[str] | None:
    """The best required set of a sequence: from a run of consecutive fixed items (their
    strings joined), or from one required item inside (a group, a branch whose every
    alternative has a set, a repeat of at least one); best = longest shortest string."""
    best: set[str] | None = None

    def consider(found: set[str] | None) -> None:
        nonlocal best
        if found and "" not in found and (best is None or min(map(len, found)) > min(map(len, best))):
            best = found

    run: set[str] | None = None
    for item in items:
        got = _exact(item)
        if got is not None:
            run = got if run is None else _join(run, got)
            continue
        if run is not None:  # the run goes on into the fixed start of what comes next
            consider(_join(run, _lead(item)) or run)
        run = None
        op, av = item
        if op is C.SUBPATTERN:
            consider(_sequence(list(av[-1])))
        elif op is C.ATOMIC_GROUP:
            consider(_sequence(list(av)))
        elif op is C.BRANCH:
            alts = [_sequence(list(a)) for a in av[1]]
            if all(a is not None for a in alts):
                consider(set().union(*alts))  # type: ignore[arg-type]
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT) and av[0] >= 1:
            consider(_sequence(list(av[2])))
    consider(run)
    return best
