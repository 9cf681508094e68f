"""Plain data shared by the pipeline stages (see DESIGN.md: each arrow is one call with plain data).

Nothing here does I/O. A :class:`Finding` never holds the sensitive value: it holds a span into
the text segment it was found in, and the segment lives only as long as the request.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import NamedTuple


class Action(enum.Enum):
    """The closed verdict type. Strictness: block > redact > monitor > allow."""

    ALLOW = "allow"
    MONITOR = "monitor"
    REDACT = "redact"
    BLOCK = "block"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @classmethod
    def strictest(cls, actions: list[Action]) -> Action:
        return max(actions, key=lambda a: a.rank, default=cls.ALLOW)


_RANK = {Action.ALLOW: 0, Action.MONITOR: 1, Action.REDACT: 2, Action.BLOCK: 3}


class Direction(enum.Enum):
    REQMOD = "reqmod"
    RESPMOD = "respmod"


class Finding(NamedTuple):
    """One detection: a span of a text segment, a score and an explanation (never the value).

    A named tuple, not a frozen dataclass: dense text makes thousands per megabyte, and a tuple
    is built four times faster.
    """

    detector_id: str
    entity_type: str
    category: str
    severity: str
    start: int
    end: int
    score: float
    explanation: str = ""


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of decoded text taken out of a message, with where it came from.

    ``location`` is a stable, human-readable locator: a JSON path (``$.result.content[0].text``),
    optionally prefixed by an SSE event index (``event[2]:$.params.arguments.q``) or ``body`` for
    plain text. ``context`` holds the words of the value's structure that count as context for
    the detectors like words beside the value (for a JSON value, the last keys of its path:
    ``{"client_secret": "..."}`` gives ``client_secret``).
    """

    text: str
    location: str
    context: str = ""


@dataclass(frozen=True, slots=True)
class Uninspected:
    """A gap: part of a message that could not be inspected, and why.

    ``reason`` is a failure-policy reason (``oversize``, ``undecodable``, ``timeout``,
    ``internal``); ``location`` says where (a JSON path, ``event[3]``, ``body``); ``mode`` is the
    failure policy's answer once it has been asked (``open`` or ``closed``), else empty.
    """

    reason: str
    location: str
    mode: str = ""


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What is known about the transaction before the body is read (from ICAP + HTTP headers)."""

    direction: Direction
    service: str
    client_ip: str | None = None
    user: str | None = None
    groups: tuple[str, ...] = ()
    http_method: str | None = None
    url: str | None = None
    host: str | None = None
    content_type: str | None = None
    mcp_method: str | None = None
    tool: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    authenticated: bool = False  # user from a verified token (or trusted proxy headers)
    identity_source: str | None = None  # "jwt" | "proxy" | None
    token_error: str | None = None  # why a presented token gave no identity (audited)
