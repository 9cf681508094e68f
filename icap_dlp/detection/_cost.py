"""A static upper bound on the backtracking work of one regex search in a bounded window.

Every pattern search carries ``regex``'s ``timeout=`` as the ReDoS guard, but that guard is not free:
the ``regex`` module reads the process CPU clock on every call (about 2-3 us on this project's VM,
more than the search itself in a 100-character anchor window). For a pattern whose worst case in a
window is provably small, the guard buys nothing: :func:`fast_window` computes, once at load time,
the longest window in which one search is bounded by :data:`FAST_STEPS` backtracking steps whatever
the text, and the engine skips the per-call timeout only in windows up to that length (the
pattern's time budget is still checked between windows). Anything this module cannot bound
(unbounded nested repetition, backreferences in repeats, ``regex``-only syntax such as fuzzy
matching, a parse error) gets 0: the timeout always applies.

The bound follows the backtracking search tree. The cost of a piece followed by a rest costing
``R`` is affine, ``a + b * R``: ``a`` steps inside the piece, ``b`` paths through it. A character
costs ``1 + R``; an alternation the sum of its branches, each followed by ``R``; a repeat
``x{lo,hi}`` of a piece with ``(a, b)`` starts ``sum(b**k, k < hi)`` iterations and tries the rest
after ``sum(b**k, lo <= k <= hi)`` paths (so ``hi*a + (hi-lo+1)*R`` for a single character, and
exponential in the window for ``(a|aa)+``); lookarounds and atomic groups add their own cost once
per visit. Unbounded repeats are bounded by the window length. Python's ``re`` parser reads the
pattern (the ``regex`` dialect is a superset; its extra syntax either fails to parse here, or is
rejected before parsing, so it is never under-estimated).
"""

from __future__ import annotations

import math
import re
import re._constants as C
import re._parser as P
from typing import Any

# At most this many steps per search in a window for the timeout to be skipped: a few ms of the
# regex engine's worst case, so a pattern's time budget is overshot by at most that much.
FAST_STEPS = 1_000_000
MAX_WINDOW = 4096
_CAP = 1e15
# regex-only syntax the re parser would read as literals: fuzzy constraints ({e<=1}, {i,d}),
# nested set operations ([[a-z]--[aeiou]]), named lists (\L<name>).
_REGEX_ONLY = re.compile(r"\{[^}]*[a-zA-Z<>=][^}]*\}|--\[|&&|\|\||~~|\\L<")
_ONE_CHAR = (C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN)


def fast_window(pattern: str, flags: int = 0) -> int:
    """The longest window (characters) in which one search of ``pattern`` is bounded by
    :data:`FAST_STEPS` steps, or 0 when no window is (or the pattern cannot be analysed)."""
    items = _parse(pattern, flags)
    if items is None:
        return 0
    lo, hi = 0, MAX_WINDOW
    while lo < hi:  # the cost grows with the window: the largest window that fits
        mid = (lo + hi + 1) // 2
        if search_cost(items, mid) <= FAST_STEPS:
            lo = mid
        else:
            hi = mid - 1
    return lo


def search_cost(items: list[Any], window: int) -> float:
    """Upper bound on the steps of one search over ``window`` characters (inf if unbounded)."""
    try:
        return (window + 1) * _seq(items, 1.0, window)
    except RecursionError:
        return math.inf


def _parse(pattern: str, flags: int) -> list[Any] | None:
    if _REGEX_ONLY.search(pattern):
        return None
    try:
        tree = P.parse(pattern, flags & (re.IGNORECASE | re.MULTILINE | re.DOTALL | re.VERBOSE))
    except (re.error, RecursionError, OverflowError, ValueError, TypeError):
        return None
    if tree.state.flags & re.IGNORECASE:
        # regex.VERSION1 folds case fully: one character may match two or three ("ß", "ss"),
        # which adds branches this bound does not count.
        return None
    return list(tree)


def _seq(items: list[Any], rest: float, w: int) -> float:
    """Cost of matching ``items`` from one position, followed by something costing ``rest``."""
    cost = rest
    for op, av in reversed(items):
        cost = _item(op, av, cost, w)
        if cost > _CAP:
            return math.inf
    return cost


def _item(op: Any, av: Any, rest: float, w: int) -> float:
    if op in _ONE_CHAR or op is C.AT:
        return 1 + rest
    if op is C.SUBPATTERN:
        if av[1] & re.IGNORECASE:  # a scoped (?i:...): full case folding, see _parse
            return math.inf
        return _seq(list(av[3]), rest, w)
    if op is C.BRANCH:
        return math.fsum(_seq(list(alt), rest, w) for alt in av[1])
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
        hi = w if av[1] == C.MAXREPEAT else min(int(av[1]), w)
        lo = min(int(av[0]), hi)
        sub = list(av[2])
        # One iteration costs ``a`` steps and reaches the continuation along ``b`` paths
        # (_seq is affine in ``rest``); after k iterations b**k paths go on.
        a = _seq(sub, 0.0, w)
        b = _seq(sub, 1.0, w) - a if a != math.inf else math.inf
        if not b < math.inf:
            return math.inf
        if op is C.POSSESSIVE_REPEAT:  # never backtracked into: its own work, then the rest once
            return hi * (a + b) + rest
        if b <= 1:
            return a * hi + (hi - lo + 1) * rest
        if (hi + 1) * math.log10(b) > 15:
            return math.inf
        tried = (b**hi - 1) / (b - 1)  # sum of b**k for k < hi: iterations started
        ended = (b ** (hi + 1) - b**lo) / (b - 1)  # sum of b**k for lo <= k <= hi: rest tried
        return a * tried + ended * rest
    if op is C.ATOMIC_GROUP:
        return _seq(list(av), 1.0, w) + rest
    if op in (C.ASSERT, C.ASSERT_NOT):
        return _seq(list(av[1]), 1.0, w) + rest
    if op is C.GROUPREF:
        return float(w) + rest
    if op is C.GROUPREF_EXISTS:
        _, yes, no = av
        return _seq(list(yes), rest, w) + (_seq(list(no), rest, w) if no is not None else rest)
    return math.inf
