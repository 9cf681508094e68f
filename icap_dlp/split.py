"""Values split in two: across adjacent ``content[]`` text items, or across SSE events.

A tool can hand a card number to the model as two text items (``"4111 1111"``, ``"1111 1111"``),
and a streamed answer can cut an access key between two events. Each piece alone holds nothing;
detection is per segment. This module scans the *joins*: the end of one piece (at most
:data:`WINDOW` characters, the longest bounded detector match) joined with the start of the
next, and keeps only findings that cross the join. Each side is :data:`SPACED` characters (a
value with spaces in it: a card, an IBAN, a phone number, a name) or, when a longer unbroken run
of characters crosses that cut (a token, an email, a JWT), that whole run up to :data:`WINDOW`:

- **content items** are joined with one space, and a finding counts only when its detector's
  validator confirmed it (Luhn, mod-97 ...) *and* the join sits where the value has its own
  separators (``4111 1111 | 1111 1111``): two adjacent order numbers (``12345678``,
  ``98765432``) never become a card, whatever their checksum. A value written without separators
  and cut in two items cannot be told from two numbers and is not joined.
- **SSE events** are joined with nothing between (a streamed field continues), and only the same
  field (the same JSON path) of consecutive events: any finding that crosses counts.

A :class:`Split` says where the value's pieces are; :func:`pieces_text` gives each piece its part
of the value's replacement, so a masked value stays masked as a whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from icap_dlp.content import ParsedBody
from icap_dlp.content._parse import leaf_location
from icap_dlp.detection import validated
from icap_dlp.model import Finding, Segment

WINDOW = 256  # characters of each side of a join: the longest bounded detector match
SPACED = 48  # a value with spaces inside is shorter than this (cards, IBANs, phones, names)
MAX_JOINS = 256  # joins scanned per message (a content array of thousands of items: the first ones)
ACROSS_ITEMS = "split_across_items"
ACROSS_EVENTS = "split_across_events"

_CONTENT_TEXT = re.compile(r"(.*\.content)\[(\d+)\]\.text\Z", re.S)

Scan = Callable[[Sequence[Segment]], list[list[Finding]]]


@dataclass(frozen=True)
class Piece:
    """One piece of a split value: ``location`` of the segment that holds it (None: an earlier
    event's, see ``previous``), its span there, and where it starts in the joined value."""

    location: str
    start: int
    end: int
    offset: int
    previous: bool = False


@dataclass(frozen=True)
class Split:
    finding: Finding  # in joined-value coordinates (start 0, end len(value))
    value: str
    pieces: tuple[Piece, ...]
    kind: str  # ACROSS_ITEMS | ACROSS_EVENTS


@dataclass(frozen=True)
class _Join:
    left: str
    left_loc: str
    left_len: int  # the whole left text's length (the window is its end)
    sep: str
    right: str
    right_loc: str
    context: str
    previous: bool  # the left piece is an earlier event's


def tail(text: str) -> str:
    """The end of ``text`` a value crossing its end can start in (see the module's docstring)."""
    cut = len(text) - SPACED
    if cut <= 0:
        return text
    lo = max(0, len(text) - WINDOW)
    space = max(text.rfind(" ", lo, cut + 1), text.rfind("\n", lo, cut + 1))
    return text[space + 1:] if space >= 0 else text[lo:]


def head(text: str) -> str:
    """The start of ``text`` a value crossing its start can end in."""
    if len(text) <= SPACED:
        return text
    hi = min(len(text), WINDOW)
    ends = [i for i in (text.find(" ", SPACED - 1, hi), text.find("\n", SPACED - 1, hi)) if i >= 0]
    return text[:min(ends)] if ends else text[:hi]


def content_joins(parsed: ParsedBody) -> list[_Join]:
    """Adjacent text items of each ``content[]`` array (a non-text item breaks adjacency)."""
    items: dict[str, dict[int, tuple[str, str]]] = {}
    for path, key, text in parsed.leaves:
        if (key == "text" or (key is None and path.endswith("].text"))) and ".content[" in path:
            loc = leaf_location(path, key)
            m = _CONTENT_TEXT.match(loc)
            if m is not None:
                items.setdefault(m.group(1), {})[int(m.group(2))] = (loc, text)
    out: list[_Join] = []
    for arr in items.values():
        for i, (loc, text) in sorted(arr.items()):
            nxt = arr.get(i + 1)
            if nxt is not None and len(out) < MAX_JOINS:
                out.append(_Join(tail(text), loc, len(text), " ", head(nxt[1]), nxt[0], "content text",
                                 False))
    return out


def _fields(parsed: ParsedBody) -> list[tuple[str, str]]:
    """(location, text) of an event's string fields, at most MAX_JOINS."""
    return [(leaf_location(path, key), text) for path, key, text in parsed.leaves[:MAX_JOINS]]


def tails(parsed: ParsedBody) -> dict[str, tuple[str, int]]:
    """The end of each string field of an event and the field's length, by location, for the
    next event's joins."""
    return {loc: (tail(text), len(text)) for loc, text in _fields(parsed)}


def event_joins(previous: Mapping[str, tuple[str, int]], parsed: ParsedBody) -> list[_Join]:
    """The same field of the previous event and this one, joined with nothing between."""
    if not previous:
        return []
    return [_Join(t[0], loc, t[1], "", head(text), loc, "", True)
            for loc, text in _fields(parsed) if (t := previous.get(loc)) is not None]


def find_splits(scan: Scan, joins: Sequence[_Join]) -> list[Split]:
    """Findings that cross a join (content items: validated, at a separator of the value)."""
    if not joins:
        return []
    found = scan([Segment(j.left + j.sep + j.right, f"{j.left_loc}+{j.right_loc}", j.context) for j in joins])
    crossing = [[f for f in fs if f.start < len(j.left) and f.end > len(j.left) + len(j.sep)]
                for j, fs in zip(joins, found, strict=True)]  # the rest is inside one piece: its own scan has it
    if not any(crossing):
        return []
    # the left windows alone (the right piece is in hand: see inspection._place_splits)
    lefts = [k for k, c in enumerate(crossing) if c]
    own = dict(zip(lefts, scan([Segment(joins[k].left, joins[k].left_loc, joins[k].context) for k in lefts]),
                   strict=True))
    out: list[Split] = []
    for k, j in enumerate(joins):
        a = len(j.left)
        b = a + len(j.sep)
        for f in crossing[k]:
            if any(g.start < a and f.start < g.end for g in own[k]):
                continue  # the left piece holds a finding of its own there ("bob@example.com" + "Thanks")
            joined = j.left + j.sep + j.right
            value = joined[f.start:f.end]
            if j.sep and not (validated(f) and _grouped_at(value, a - f.start, j.sep)):
                continue
            base = j.left_len - len(j.left)  # the window's start in the whole left text
            pieces = (Piece(j.left_loc, base + f.start, base + a, 0, j.previous),
                      Piece(j.right_loc, 0, f.end - b, b - f.start))
            kind = ACROSS_EVENTS if j.previous else ACROSS_ITEMS
            why = f"{f.explanation}; {kind}"
            out.append(Split(f._replace(start=0, end=len(value), explanation=why), value, pieces, kind))
    return out


def _grouped_at(value: str, join: int, sep: str) -> bool:
    """The join separator (at ``join``) is one of the value's own: it occurs elsewhere in it."""
    return sep in value[:join] or sep in value[join + len(sep):]


def pieces_text(split: Split, replacement: str) -> list[str]:
    """Each piece's part of the replacement: a same-length replacement (mask, partial) is cut
    where the pieces are; any other (tag, hash, remove) goes whole to the first piece in hand."""
    if len(replacement) == len(split.value):
        return [replacement[p.offset:p.offset + (p.end - p.start)] for p in split.pieces]
    first = next((i for i, p in enumerate(split.pieces) if not p.previous), 0)
    return [replacement if i == first else "" for i in range(len(split.pieces))]
