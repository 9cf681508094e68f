"""What a body is: MCP JSON-RPC, JSON, NDJSON, form or text, as text segments with locations.

``parse`` returns a :class:`ParsedBody`: the decoded string values that can carry data (as
:class:`Segment` with a JSON-path location) and ``render(replacements)``, which rebuilds the body
with some segments' text replaced. Only affected strings change; the rest of the structure, key
order, ``id`` and ``jsonrpc`` are kept, and ``render({})`` returns the original bytes.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import dataclasses
import functools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from icap_dlp.content._codec import (
    DEFAULT_SKIP,
    BodyKind,
    ContentLimits,
    charset_of,
    classify,
    decode_text,
    encode_json,
    encode_text,
)
from icap_dlp.content._sniff import SNIFF_BYTES, looks_text, magic_name, sniff
from icap_dlp.model import Segment, Uninspected

try:  # parse and write JSON in C where available: the same values and bytes (see _loads, _dumps)
    import orjson
except ImportError:  # pragma: no cover - the pure-Python json module serves
    orjson = None  # type: ignore[assignment]

# Never changed: the JSON-RPC envelope of a message and MIME-type fields. They are inspected; a
# finding there escalates the message to block (see ``ParsedBody.fixed``).
_ENVELOPE = frozenset({"jsonrpc", "id", "method"})
_FIXED_ANYWHERE = frozenset({"mimeType"})
_MEDIA = frozenset({"image", "audio"})
_B64_SPACE = re.compile(r"\s+")

@dataclass
class McpInfo:
    """JSON-RPC facts about a message (or a batch)."""

    ids: list[Any] = field(default_factory=list)
    method: str | None = None
    tool: str | None = None
    is_batch: bool = False
    kind: str = "response"  # request | notification | response | error


@dataclass
class _Slot:
    """Where a segment's text lives, and how to put a new text back.

    ``owner`` is the index of the JSON-in-a-string document the slot lives in (None: the body).
    """

    set: Callable[[str], None]
    owner: int | None = None


@dataclass
class _Nested:
    """A JSON document inside a string: re-serialised once at render time when a leaf changed."""

    holder: list[Any]
    set_outer: Callable[[str], None]
    separators: tuple[str, str]
    owner: int | None


@dataclass
class ParsedBody:
    segments: list[Segment]
    mcp: McpInfo | None
    _slots: list[_Slot]
    _rebuild: Callable[[AbstractSet[int]], bytes]  # called with the indices of the replaced segments
    _original: bytes
    gaps: list[Uninspected] = field(default_factory=list)
    # Segments that must never change (JSON-RPC envelope, MIME types): redacting one blocks instead.
    fixed: frozenset[int] = frozenset()
    _nested: list[_Nested] = field(default_factory=list)
    # The index of the structure segment of a quick walk (keys, numbers, short strings), if any.
    structure: int | None = None
    _expand: Callable[[], ParsedBody] | None = None
    skipped: str | None = None  # not inspected on purpose: a binary (``binary:png``) or a skipped type
    # The string values (JSON leaves, the text of a text body) in walk order, as (path, key, text):
    # the location is ``leaf_location(path, key)``. The split-value scan reads them (adjacent
    # ``content[]`` items, the same field in consecutive SSE events); the envelope is left out.
    leaves: list[tuple[str, Any, str]] = field(default_factory=list)
    # Every number of the JSON documents was seen and none is a float: orjson may render them.
    exact: bool = False

    def with_fixed(self, extra: Sequence[Segment]) -> ParsedBody:
        """This body plus segments inspected with it that can never change (a finding there blocks)."""
        n = len(self.segments)
        return dataclasses.replace(self, segments=[*self.segments, *extra],
                                   _slots=[*self._slots, *(_Slot(_unchangeable) for _ in extra)],
                                   fixed=self.fixed | frozenset(range(n, n + len(extra))))

    def expanded(self) -> ParsedBody:
        """The same body walked in detail: every key, number and string its own segment."""
        return self._expand() if self._expand is not None else self

    def render(self, replacements: Mapping[int, str]) -> bytes:
        """The body with some segments' text replaced (the original bytes when there are none).

        Patches are applied first, then each JSON-in-a-string document that changed is
        re-serialised once, innermost first, then the body: one pass, whatever the number of
        redacted leaves.
        """
        if not replacements:
            return self._original
        dirty: set[int] = set()
        for i, text in replacements.items():
            slot = self._slots[i]
            slot.set(text)
            if slot.owner is not None:
                dirty.add(slot.owner)
        for n in range(len(self._nested) - 1, -1, -1):  # inner documents were found after outer ones
            if n in dirty:
                nested = self._nested[n]
                nested.set_outer(_dumps(nested.holder[0], nested.separators, self.exact))
                if nested.owner is not None:
                    dirty.add(nested.owner)
        return self._rebuild(replacements.keys())


def _is_text_mime(mime: str | None) -> bool:
    m = (mime or "").lower()
    return m.startswith("text/") or "json" in m or "xml" in m or "yaml" in m or "javascript" in m


class _RawNumber:
    """A redacted JSON number, written as its digits (json.dumps cannot keep a digit count)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


_COMPACT = (",", ":")
# An integer literal of 19 digits or more may lie outside 64 bits, where orjson reads a float.
_LONG_DIGITS = re.compile(r"[0-9]{19}")
Loads = Callable[[str], Any]


def _loads(text: str) -> Any:
    """``json.loads(text)`` via orjson, json where orjson refuses the text.

    orjson reads every JSON text json reads into the same value but one: an integer beyond 64
    bits becomes a float. A document read this way whose walk met a float (or left a part
    unwalked) is read again with json when its text holds 19 digits in a row (``_reread``), so
    only float-bearing documents pay for that search. What orjson refuses (NaN, numbers that
    overflow, lone surrogates, very deep nesting) json reads or rejects as before.
    """
    if orjson is not None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def _reread(w: _Walker, text: str) -> bool:
    """The walk read ``text`` with orjson and may hold an integer orjson turned into a float."""
    return w.loads is _loads and not w.exact and _LONG_DIGITS.search(text) is not None


def _dumps(doc: Any, separators: tuple[str, str], exact: bool = False) -> str:
    """``doc`` as JSON in ``separators`` style, non-ASCII kept, redacted numbers as their digits.

    ``exact``: the document holds no float (its walker saw every number), so orjson writes the
    same bytes as json (compact style only; anything orjson refuses, such as integers beyond 64
    bits or lone surrogates, goes to json).
    """
    raw: list[str] = []

    def default(o: object) -> str:
        if isinstance(o, _RawNumber):
            raw.append(o.text)
            return f"\x00{len(raw) - 1}\x00"
        raise TypeError(type(o).__name__)

    out = None
    if exact and orjson is not None and separators == _COMPACT:
        try:
            out = orjson.dumps(doc, default=default).decode()
        except TypeError:  # orjson.JSONEncodeError is a TypeError
            raw.clear()
    if out is None:
        out = json.dumps(doc, ensure_ascii=False, separators=separators, default=default)
    if raw:
        out = re.sub(r'"\\u0000(\d+)\\u0000"', lambda m: raw[int(m.group(1))], out)
    return out


def redacted_number(original: str, redacted: str) -> str:
    """A redacted number as a number of the same digit count: masked digits become 0, kept stay.

    A replacement of the same length keeps the digits it kept (``mask`` with ``keep_last``);
    any other replacement (a tag, a hash) masks every digit. A masked leading digit of a number
    with more than one integer digit becomes 1, so the result is still valid JSON.
    """
    same = len(redacted) == len(original)
    out = [c if (not c.isdigit() or (same and redacted[i] == c)) else "0" for i, c in enumerate(original)]
    first = next((i for i, c in enumerate(out) if c.isdigit()), None)
    if first is not None and out[first] == "0" and first + 1 < len(out) and out[first + 1].isdigit():
        out[first] = "1"
    return "".join(out)


def _key_words(keys: tuple[str, ...]) -> str:
    return " ".join(keys)


# (container, key, container's path, depth, keys on the path, the key's box, never changed)
_Frame = tuple[Any, Any, str, int, tuple[str, ...], "list[Any] | None", bool]
_JSON_START = re.compile(r"\s*[\[{]")
# Strings up to this length are part of the structure text in a quick walk (see _Walker).
SHORT = 256
STRUCTURE_SEP = "\n\x00 "


def _loc(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if key.isidentifier() else f"{path}[{json.dumps(key)}]"


def leaf_location(path: str, key: Any) -> str:
    """The segment location of a :attr:`ParsedBody.leaves` entry (``key`` None: ``path`` is it)."""
    return path if key is None else _loc(path, key)


class _Walker:
    """Every string and number leaf and every object key of a JSON document, inspected.

    Iterative (no recursion limit); past ``limits.max_depth`` a container is a gap ``oversize``.
    Long strings are segments with the last two keys of their path as ``context``. A *quick*
    walk (``detailed=False``) puts object keys, numbers and short strings, each after its key
    (``key: value``, so the key reads as a word beside it), into one structure segment: a clean
    message pays for one scan of it, not one per leaf. When that segment has a finding,
    :meth:`ParsedBody.expanded` walks again in detail: each of them its own segment that can
    be redacted (numbers as numbers, keys renamed), the JSON-RPC envelope and MIME types fixed.
    """

    def __init__(self, limits: ContentLimits, detailed: bool = False, loads: Loads = _loads) -> None:
        self.limits = limits
        self.detailed = detailed
        self.loads = loads
        self.segments: list[Segment] = []
        self.slots: list[_Slot] = []
        self.gaps: list[Uninspected] = []
        self.fixed: set[int] = set()
        self.nested: list[_Nested] = []
        self.structure: list[str] = []
        self.leaves: list[tuple[str, Any, str]] = []
        # No float met and nothing left unwalked: the documents render exactly via orjson.
        self.exact = True
        self.full = False  # past limits.max_leaves: the rest is not walked (see _stop)

    def body(self, mcp: McpInfo | None, rebuild: Callable[[AbstractSet[int]], bytes], original: bytes,
             expand: Callable[[], ParsedBody]) -> ParsedBody:
        structure = None
        if self.structure:
            structure = len(self.segments)
            self.segments.append(Segment(STRUCTURE_SEP + STRUCTURE_SEP.join(self.structure), "$<structure>"))
            self.slots.append(_Slot(_unchangeable))
        return ParsedBody(self.segments, mcp, self.slots, rebuild, original, self.gaps, frozenset(self.fixed),
                          self.nested, structure, None if self.detailed else expand, leaves=self.leaves,
                          exact=self.exact)

    def _at_cap(self) -> bool:
        """Has the walk reached ``limits.max_leaves`` values and keys (see ``_stop``)?"""
        return self.full or len(self.segments) + len(self.structure) >= self.limits.max_leaves

    def _stopped(self) -> bool:
        # a call, not ``self.full`` read in place: mypy would keep the value it narrowed before a
        # call (``add``) that may set it
        return self.full

    def _stop(self, where: str) -> None:
        """The rest of the document, from ``where`` on, is not walked: a gap (``oversize``) for the
        failure policy, recorded once. Memory and time stay bounded by the cap; never a silent skip."""
        if not self.full:
            self.full = True
            self._oversize(where)

    def _oversize(self, where: str) -> None:
        """What is at ``where`` is not walked (too deep, too many values): a gap for the failure
        policy, never a skip; the documents no longer render exactly through orjson."""
        self.gaps.append(Uninspected("oversize", where))
        self.exact = False

    def _seg(self, text: str, location: str, context: str, setter: Callable[[str], None], owner: int | None,
             fixed: bool) -> None:
        if fixed:
            self.fixed.add(len(self.segments))
        self.segments.append(Segment(text, location, context))
        self.slots.append(_Slot(setter, owner))

    def add(self, text: str, location: str, setter: Callable[[str], None], *, depth: int = 0,
            keys: tuple[str, ...] = (), owner: int | None = None, fixed: bool = False) -> None:
        """A string: JSON inside it is walked (the string is re-serialised on change), else text."""
        if not text:
            return
        if not fixed and depth < self.limits.max_depth and _JSON_START.match(text):
            if too_many_values(text, self.limits):  # inspected as the text it is; its structure: a gap
                self._oversize(location + "<json>")
                nested = None
            else:
                nested = _maybe_json(text, self.loads)
            if isinstance(nested, dict | list):
                holder = [nested]
                self.nested.append(_Nested(holder, setter, _separators(text), owner))
                self.walk(holder, 0, location + "<json>$", depth + 1, keys, len(self.nested) - 1)
                return
        if not fixed:
            self.leaves.append((location, None, text))
        self._seg(text, location, _key_words(keys[-2:]), setter, owner, fixed)

    def walk(self, parent: Any, key: Any, path: str, depth: int = 0, keys: tuple[str, ...] = (),
             owner: int | None = None) -> None:
        """Walk ``parent[key]``, found at ``path`` (the path of the value itself)."""
        if not self.detailed and isinstance(parent[key], dict | list) and depth < self.limits.max_depth:
            self._quick(parent[key], path, depth, keys, owner)
            return
        structure = self.structure
        detailed = self.detailed
        stack: list[_Frame] = [(parent, key, "", depth, keys, None, False)]
        first = True
        while stack:
            parent, key, ppath, depth, keys, keybox, fixed = stack.pop()
            if self._at_cap():
                self._stop(path if first else _loc(ppath, key))
                return
            value = parent[keybox[0] if keybox is not None else key]
            if isinstance(value, str):
                if not detailed and len(value) <= SHORT and not _JSON_START.match(value):
                    structure.append(f"{keys[-1] if keys else ''}: {value}")
                else:
                    self.add(value, path if first else _loc(ppath, key), _setter(parent, key, keybox), depth=depth,
                             keys=keys, owner=owner, fixed=fixed)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                if isinstance(value, float):
                    self.exact = False
                if detailed:
                    self._number(value, parent, key, keybox, path if first else _loc(ppath, key), keys, owner,
                                 fixed)
                else:
                    structure.append(f"{keys[-1] if keys else ''}: {value!r}")
            elif isinstance(value, dict | list):
                here = path if first else _loc(ppath, key)
                if depth >= self.limits.max_depth:
                    if value:  # deeper than the limit
                        self._oversize(here)
                elif isinstance(value, list):
                    stack.extend((value, i, here, depth + 1, keys, None, False) for i in range(len(value) - 1, -1, -1))
                else:
                    stack.extend(reversed(self._members(value, here, depth, keys, owner)))
            first = False

    def _quick(self, root: dict[str, Any] | list[Any], path: str, depth: int, keys: tuple[str, ...],
               owner: int | None) -> None:
        """The quick walk: leaves go to the structure text; only containers carry a path."""
        structure = self.structure
        leaves = self.leaves
        limit = self.limits.max_depth
        stack: list[tuple[Any, str, int, tuple[str, ...]]] = [(root, path, depth, keys)]
        while stack:
            node, path, depth, keys = stack.pop()
            # What this node may still add before the limit: its keys first, then a value each.
            room = self.limits.max_leaves - len(self.segments) - len(structure)
            if isinstance(node, dict):
                room -= len(node)
            if room < 0 or self.full:
                self._stop(path)
                return
            if isinstance(node, dict):
                skip: tuple[str, ...] = ()
                if "data" in node or "blob" in node:
                    skip = tuple(self._media_fields(node, path, keys, owner))
                structure.extend(node)
                items: Any = node.items()
            else:
                items = enumerate(node)
                skip = ()
            last = keys[-1] if keys else ""
            children = []
            for k, v in items:
                if isinstance(v, str):
                    room -= 1
                    if room < 0:
                        self._stop(_loc(path, k))
                        return
                    if len(v) <= SHORT and not _JSON_START.match(v):
                        structure.append(f"{last if isinstance(k, int) else k}: {v}")
                        if v and k not in _ENVELOPE:
                            leaves.append((path, k, v))
                    elif k not in skip:
                        ks = keys if isinstance(k, int) else (*keys[-1:], k)
                        before = len(self.segments) + len(structure)
                        self.add(v, _loc(path, k), _setter(node, k, None), depth=depth + 1, keys=ks, owner=owner)
                        if self._stopped():  # JSON inside the string reached the limit
                            return
                        room -= len(self.segments) + len(structure) - before - 1  # (itself: counted above)
                elif isinstance(v, int | float) and not isinstance(v, bool):
                    room -= 1
                    if room < 0:
                        self._stop(_loc(path, k))
                        return
                    structure.append(f"{last if isinstance(k, int) else k}: {v!r}")
                    if isinstance(v, float):
                        self.exact = False
                elif isinstance(v, dict | list) and v:  # counted when it is walked
                    here = _loc(path, k)
                    if depth + 1 >= limit:
                        self._oversize(here)  # too deep
                    else:
                        children.append((v, here, depth + 1, keys if isinstance(k, int) else (*keys[-1:], k)))
            stack.extend(reversed(children))

    def _media_fields(self, obj: dict[str, Any], path: str, keys: tuple[str, ...], owner: int | None) -> list[str]:
        """Base64 fields of this object read on their own (image/audio ``data``, resource ``blob``)."""
        out = []
        if "data" in obj and obj.get("type") in _MEDIA and isinstance(obj["data"], str):
            out.append("data")
            self._base64(obj, "data", path, keys, owner)
        if "blob" in obj and isinstance(obj["blob"], str):
            out.append("blob")
            self._base64(obj, "blob", path, keys, owner)
        return out

    def _members(self, obj: dict[str, Any], path: str, depth: int, keys: tuple[str, ...],
                 owner: int | None) -> list[_Frame]:
        skip = self._media_fields(obj, path, keys, owner)
        envelope = "jsonrpc" in obj and depth <= 1
        out: list[_Frame] = []
        context = _key_words(keys[-1:])
        for k in list(obj):
            if self._at_cap():
                self._stop(_loc(path, k))
                break
            keybox = [k]
            fixed = (envelope and k in _ENVELOPE) or k in _FIXED_ANYWHERE
            self._seg(k, _loc(path, k) + "<key>", context, _key_setter(obj, keybox), owner, envelope)
            if k not in skip:
                out.append((obj, k, path, depth + 1, (*keys[-1:], k), keybox, fixed))
        return out

    def _number(self, value: int | float, parent: Any, key: Any, keybox: list[Any] | None, path: str,
                keys: tuple[str, ...], owner: int | None, fixed: bool) -> None:
        text = repr(value)
        if not any(c.isdigit() for c in text):
            return  # nan, inf: no digits to hide

        def setter(t: str) -> None:
            parent[keybox[0] if keybox is not None else key] = _RawNumber(redacted_number(text, t))

        self._seg(text, path, _key_words(keys[-2:]), setter, owner, fixed)

    def _base64(self, obj: dict[str, Any], field_name: str, path: str, keys: tuple[str, ...],
                owner: int | None) -> None:
        """A base64 field (resource ``blob``, image/audio ``data``): inspected when it holds text.

        Declared text types are decoded; any other type is decoded when its bytes are not the
        declared media (magic bytes) and read as mostly printable UTF-8. Undecodable base64 is
        inspected as the string it is. Redacted text is re-encoded, so the message stays valid.
        """
        value = obj[field_name]
        loc = f"{path}.{field_name}"
        mime = obj.get("mimeType")
        packed = _B64_SPACE.sub("", value).rstrip("=")
        urlsafe = "-" in packed or "_" in packed
        try:
            raw = base64.b64decode(packed + "=" * (-len(packed) % 4), altchars=b"-_" if urlsafe else None,
                                   validate=True)
        except (binascii.Error, ValueError):
            self._seg(value, loc, _key_words((*keys[-1:], field_name)), _setter(obj, field_name, None), owner,
                      False)
            return
        binary = magic_name(raw) is not None or not looks_text(raw)
        if binary and not _is_text_mime(mime if isinstance(mime, str) else None):
            return  # the declared media (or binary): nothing to read as text
        wrapped = "\n" in value

        def setter(t: str) -> None:
            data = t.encode("utf-8", "surrogateescape")
            enc = (base64.urlsafe_b64encode(data) if urlsafe else base64.b64encode(data)).decode("ascii")
            obj[field_name] = "\n".join(enc[i:i + 76] for i in range(0, len(enc), 76)) if wrapped else enc

        self.add(raw.decode("utf-8", "surrogateescape"), loc + "<base64>", setter, keys=(*keys[-1:], field_name),
                 owner=owner)


def _unchangeable(text: str) -> None:
    raise RuntimeError("an unchangeable segment was redacted (structure: expand first; fixed: block)")


def _setter(parent: Any, key: Any, keybox: list[Any] | None) -> Callable[[str], None]:
    def setter(t: str) -> None:
        parent[keybox[0] if keybox is not None else key] = t

    return setter


def _key_setter(obj: dict[str, Any], keybox: list[Any]) -> Callable[[str], None]:
    """Rename a key in place (order kept); a name already taken gets a suffix (``_2``, ``_3`` ...)."""

    def setter(t: str) -> None:
        old = keybox[0]
        new = t
        n = 2
        while new in obj and new != old:
            new = f"{t}_{n}"
            n += 1
        items = [(new if k == old else k, v) for k, v in obj.items()]
        obj.clear()
        obj.update(items)
        keybox[0] = new

    return setter


def _separators(original: str) -> tuple[str, str]:
    """Keep the original's style (compact or spaced), judged by its first key."""
    i = original.find('":')
    spaced = i >= 0 and original[i + 2: i + 3] == " "
    return (", ", ": ") if spaced else (",", ":")


def _maybe_json(text: str, loads: Loads) -> Any:
    s = text.lstrip()
    if not s or s[0] not in "{[" or len(text) < 2:
        return None
    try:
        return loads(text)
    except (ValueError, RecursionError):
        return None  # not JSON, or nested past the parser's limit: inspected as the text it is


# A JSON string (an unterminated one runs to the end: no match restarts inside a string, so the
# scan stays linear), or a comma or colon outside strings: the group holds "," or ":" or "".
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\[\s\S]?[^"\\]*)*(?:"|\Z)|([,:])')


def too_many_values(text: str, limits: ContentLimits) -> bool:
    """Would parsing ``text`` as JSON build more than twice ``limits.max_leaves`` values?

    Counted without parsing, before a parse tree is built (16 MiB of small objects is 0.5 GB of
    Python objects, which the walk's cap comes too late to bound): the commas and colons outside
    strings, about one per value. A text shorter than two characters per such value cannot hold
    that many, nor one with fewer commas and colons in all (inside strings too): neither is
    scanned. The scan's list holds shared one-character strings: 8 bytes per token."""
    most = 2 * limits.max_leaves
    if len(text) < 2 * most or text.count(",") + text.count(":") <= most:
        return False
    tokens = _JSON_TOKEN.findall(text)
    return len(tokens) - tokens.count("") > most


def mcp_info(doc: Any) -> McpInfo | None:
    msgs = doc if isinstance(doc, list) else [doc]
    if not msgs or not all(isinstance(m, dict) and m.get("jsonrpc") == "2.0" for m in msgs):
        return None
    info = McpInfo(is_batch=isinstance(doc, list))
    for m in msgs:
        if "id" in m:
            info.ids.append(m["id"])
        if isinstance(m.get("method"), str):
            info.method = info.method or m["method"]
            info.kind = "request" if "id" in m else "notification"
            params = m.get("params")
            if m["method"] == "tools/call" and isinstance(params, dict) and isinstance(params.get("name"), str):
                info.tool = info.tool or params["name"]
        elif "error" in m:
            info.kind = "error"
    return info


def _parse_json_doc(doc: Any, text: str, charset: str, limits: ContentLimits, original: bytes,
                    detailed: bool = False, loads: Loads = _loads) -> ParsedBody:
    w = _Walker(limits, detailed, loads)
    holder = [doc]
    w.walk(holder, 0, "$")
    if _reread(w, text):
        return _parse_json_doc(json.loads(text), text, charset, limits, original, detailed, json.loads)
    separators = _separators(text[:2048])

    def rebuild(changed: AbstractSet[int]) -> bytes:
        return encode_json(_dumps(holder[0], separators, w.exact), charset)

    return w.body(mcp_info(doc), rebuild, original,
                  lambda: _parse_json_doc(doc, text, charset, limits, original, detailed=True, loads=loads))


def parse(body: bytes, kind: BodyKind, charset: str = "utf-8", limits: ContentLimits | None = None,
          content_type: str | None = None) -> ParsedBody:
    """The body as segments; ``SNIFF`` decides from its first bytes (a binary is ``skipped``)."""
    limits = limits or ContentLimits()
    if kind is BodyKind.SNIFF:
        kind, reason = sniff(body[:SNIFF_BYTES])
        if kind is BodyKind.SKIP:
            return ParsedBody([], None, [], lambda changed: body, body, skipped=reason)
        if kind is BodyKind.SSE:  # an event stream in one piece: its events' data, as NDJSON lines
            kind = BodyKind.TEXT
    if kind is BodyKind.MULTIPART:
        return _multipart(body, content_type, limits)
    if kind is BodyKind.SKIP:
        return ParsedBody([], None, [], lambda changed: body, body, skipped="type")
    text = decode_text(body, charset)
    if kind in (BodyKind.JSON, BodyKind.TEXT):
        looks_json = text.strip()[:1] in ("{", "[")
        if looks_json and too_many_values(text, limits):
            # Not parsed (see too_many_values): inspected as text, its structure a gap.
            whole = _text(text, charset, body)
            whole.gaps.append(Uninspected("oversize", "$"))
            return whole
        try:
            doc = _loads(text) if looks_json else None
        except (ValueError, RecursionError):
            doc = None
        if doc is not None:
            return _parse_json_doc(doc, text, charset, limits, body)
        return _text(text, charset, body)
    if kind is BodyKind.NDJSON:
        return _ndjson(text, charset, limits, body)
    if kind is BodyKind.FORM:
        return _form(text, charset, limits, body)
    return _text(text, charset, body)


_PART_SPLIT = re.compile(rb"\r?\n\r?\n")
_HEADER_LINE = re.compile(r"\r?\n")


def _boundary(content_type: str | None) -> bytes | None:
    for part in (content_type or "").split(";")[1:]:
        k, _, v = part.strip().partition("=")
        if k.strip().lower() == "boundary" and v.strip().strip('"'):
            return v.strip().strip('"').encode("latin-1", "replace")
    return None


def _multipart(body: bytes, content_type: str | None, limits: ContentLimits) -> ParsedBody:
    """``multipart/form-data`` and ``multipart/mixed``: each part by its own headers, redacted in place.

    A part is parsed like a body of its own type (a form field without a type is text; a file
    of a generic type is sniffed; a binary part is skipped); changed parts are rebuilt, the
    others and the boundaries stay byte-exact. A body without a usable boundary is text.
    """
    boundary = _boundary(content_type)
    if boundary is None or b"--" + boundary not in body:
        return _text(decode_text(body, "utf-8"), "utf-8", body)
    pieces = body.split(b"--" + boundary)
    segments: list[Segment] = []
    slots: list[_Slot] = []
    gaps: list[Uninspected] = []
    fixed: set[int] = set()
    # head, content, line end before the next delimiter, parsed content, pending replacements
    parts: list[tuple[bytes, bytes, bytes, ParsedBody | None, dict[int, str]]] = []
    for n, piece in enumerate(pieces[1:]):
        if piece.startswith(b"--"):  # the close delimiter: the rest is the epilogue
            parts.append((piece, b"", b"", None, {}))
            break
        m = _PART_SPLIT.search(piece)
        if m is None:
            parts.append((piece, b"", b"", None, {}))
            continue
        head, content = piece[:m.end()], piece[m.end():]
        trailer = b"\r\n" if content.endswith(b"\r\n") else b"\n" if content.endswith(b"\n") else b""
        content = content[:len(content) - len(trailer)]
        headers = _part_headers(head)
        ctype = headers.get("content-type")
        name = _disposition_name(headers.get("content-disposition", ""))
        kind = BodyKind.TEXT if ctype is None and "filename" not in headers.get("content-disposition", "") \
            else classify(ctype, DEFAULT_SKIP)
        room = dataclasses.replace(limits, max_leaves=max(limits.max_leaves - len(segments), 0))
        sub = parse(content, kind, charset_of(ctype), room, ctype).expanded()
        pending: dict[int, str] = {}
        base = len(segments)
        for j, seg in enumerate(sub.segments):
            segments.append(Segment(seg.text, f"part[{n}]{name}:{seg.location}", seg.context or name.strip("[]")))
            slots.append(_Slot(functools.partial(pending.__setitem__, j)))
        fixed.update(base + j for j in sub.fixed)
        gaps.extend(Uninspected(g.reason, f"part[{n}]{name}:{g.location}", g.mode) for g in sub.gaps)
        parts.append((head, content, trailer, sub, pending))

    def rebuild(changed: AbstractSet[int]) -> bytes:
        out = [pieces[0]]
        for head, content, trailer, sub, pending in parts:
            out.append(head + (sub.render(pending) if sub is not None and pending else content) + trailer)
        return (b"--" + boundary).join(out)

    return ParsedBody(segments, None, slots, rebuild, body, gaps, frozenset(fixed))


def _part_headers(head: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in _HEADER_LINE.split(head.decode("latin-1")):
        k, sep, v = line.partition(":")
        if sep:
            out[k.strip().lower()] = v.strip()
    return out


def _disposition_name(value: str) -> str:
    for part in value.split(";")[1:]:
        k, _, v = part.strip().partition("=")
        if k.strip().lower() == "name":
            return f"[{v.strip().strip(chr(34))}]"
    return ""


def _text(text: str, charset: str, original: bytes) -> ParsedBody:
    box = [text]

    def setter(t: str) -> None:
        box[0] = t

    segs = [Segment(text, "body")] if text else []
    return ParsedBody(segs, None, [_Slot(setter)], lambda changed: encode_text(box[0], charset), original,
                      leaves=[("body", None, text)] if text else [])


def _ndjson(text: str, charset: str, limits: ContentLimits, original: bytes, detailed: bool = False,
            loads: Loads = _loads) -> ParsedBody:
    """One JSON document per line (a line that is not JSON is text); unchanged lines stay byte-exact."""
    w = _Walker(limits, detailed, loads)
    lines: list[tuple[str, list[Any], bool, int, int]] = []  # original, holder, is JSON, segment range
    for n, line in enumerate(text.split("\n")):
        first = len(w.segments)
        if w._at_cap():
            w._stop(f"line[{n}]")
            lines.append((line, [line], False, first, first))  # not walked: kept as it is, a gap
            continue
        try:
            doc = loads(line) if line.strip()[:1] in ("{", "[") else None
        except (ValueError, RecursionError):
            doc = None
        holder: list[Any] = [line if doc is None else doc]
        if doc is not None:
            w.walk(holder, 0, f"line[{n}]:$")
        elif line.strip():
            w.add(line, f"line[{n}]", _setter(holder, 0, None))
        lines.append((line, holder, doc is not None, first, len(w.segments)))

    def rebuild(changed: AbstractSet[int]) -> bytes:
        # The lines holding a changed segment, found by bisection over the lines' first segments
        # (a scan of ``changed`` per line was quadratic: 177 s for 4 MiB of rows with an email each).
        firsts = [a for _, _, _, a, _ in lines]
        dirty = {bisect.bisect_right(firsts, i) - 1 for i in changed}
        out = []
        for k, (orig, holder, is_json, a, b) in enumerate(lines):
            if k not in dirty or a == b:
                out.append(orig)
            else:
                out.append(_dumps(holder[0], _COMPACT, w.exact) if is_json else holder[0])
        return encode_json("\n".join(out), charset)

    if _reread(w, text):
        return _ndjson(text, charset, limits, original, detailed, json.loads)
    return w.body(None, rebuild, original,
                  lambda: _ndjson(text, charset, limits, original, detailed=True, loads=loads))


def _form(text: str, charset: str, limits: ContentLimits, original: bytes) -> ParsedBody:
    pairs = parse_qsl(text, keep_blank_values=True, encoding=charset, errors="surrogateescape")
    values = [list(p) for p in pairs]
    segments: list[Segment] = []
    slots: list[_Slot] = []
    gaps: list[Uninspected] = []
    for i, (k, v) in enumerate(values):
        if len(segments) >= limits.max_leaves:
            gaps.append(Uninspected("oversize", f"form[{k}]"))  # the rest: a gap, as a JSON body's
            break
        if v:
            segments.append(Segment(v, f"form[{k}]"))

            def setter(t: str, i: int = i) -> None:
                values[i][1] = t

            slots.append(_Slot(setter))
    return ParsedBody(segments, None, slots,
                      lambda changed: urlencode([(p[0], p[1]) for p in values], encoding=charset,
                                        errors="surrogateescape").encode("ascii"), original, gaps)
