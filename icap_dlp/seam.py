"""The seam between the ICAP server and the inspection pipeline.

The server (I/O) asks an :class:`Inspector` for a :class:`Transaction` per REQMOD/RESPMOD request.
The transaction decides from the headers alone how the body must flow (:class:`Plan`):

* ``SKIP``   - no inspection needed: 204 (during the preview when possible) or a streamed echo;
* ``BUFFER`` - read the whole body (up to ``max_body_bytes``), then :meth:`Transaction.decide`;
* ``STREAM`` - send the ICAP answer at once and pass the body through a :class:`BodyStream`
  (used for SSE and for echoing without 204), so long or endless bodies keep flowing.

Everything here is plain data; the server serialises an :class:`Outcome` into ICAP bytes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from icap_dlp.icap import HttpRequestHead, HttpResponseHead, IcapRequest


class Plan(enum.Enum):
    SKIP = "skip"
    BUFFER = "buffer"
    STREAM = "stream"


@dataclass(frozen=True, slots=True)
class Unmodified:
    """Let the message through as it is (204 when allowed, else a 200 echo)."""

    icap_headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Replace:
    """Answer with these HTTP head(s) and body.

    RESPMOD: ``http_response`` is the new response. REQMOD: either ``http_request`` (a modified
    request goes on to the origin) or ``http_response`` (a direct answer, e.g. a block page).
    """

    http_request: HttpRequestHead | None = None
    http_response: HttpResponseHead | None = None
    body: bytes | None = None
    icap_headers: tuple[tuple[str, str], ...] = ()
    close: bool = False


Outcome = Unmodified | Replace


class BodyStream(Protocol):
    """Transforms a body as it flows; each call returns the bytes to send on now."""

    def feed(self, data: bytes) -> bytes: ...

    def finish(self) -> bytes: ...

    @property
    def pending(self) -> int:
        """Bytes held for the next inspection step (an SSE event not yet complete, a body held
        whole): the server runs a step that inspects many of them off the event loop."""
        ...


@dataclass(slots=True)
class StreamPlan:
    """How a streamed answer starts: the heads to send at once and the body transformer."""

    http_request: HttpRequestHead | None
    http_response: HttpResponseHead | None
    body: BodyStream
    icap_headers: tuple[tuple[str, str], ...] = ()
    heavy: bool = False  # feed/finish may hold the CPU for long: run them off the event loop


class Transaction(Protocol):
    # True when ``decide`` (or the stream's ``feed``) may hold the CPU for long (NER): the server
    # then runs it on the worker's inspection thread instead of the event loop.
    heavy: bool

    def plan(self) -> Plan: ...

    def decide(self, body: bytes) -> Outcome:
        """Called with the whole body (``b""`` when there is none) under ``Plan.BUFFER``."""
        ...

    def offload(self, size: int) -> bool:
        """Should ``decide`` for a body of ``size`` bytes run off the event loop (``heavy``, or a
        body large enough to hold the CPU for long)?"""
        ...

    def stream(self) -> StreamPlan:
        """Called once under ``Plan.STREAM`` after the preview was read."""
        ...

    def fail(self, reason: str) -> Outcome:
        """The body could not be inspected (``oversize``, ``timeout``, ``internal`` ...)."""
        ...

    def skip_headers(self) -> tuple[tuple[str, str], ...]:
        """ICAP headers for the 204 of a message that needs no inspection (``Plan.SKIP``)."""
        ...

    def finished(self, status: int) -> None:
        """The ICAP answer was sent (or the connection died): account for it (audit, metrics)."""
        ...


class Inspector(Protocol):
    @property
    def istag(self) -> str: ...

    def begin(self, request: IcapRequest, client: str | None) -> Transaction: ...


class IdentityStream:
    """A BodyStream that changes nothing (the streamed echo)."""

    def feed(self, data: bytes) -> bytes:
        return data

    def finish(self) -> bytes:
        return b""

    @property
    def pending(self) -> int:
        return 0


def echo_stream_plan(request: IcapRequest) -> StreamPlan:
    """Stream the message back unchanged (used when 204 is not allowed)."""
    return StreamPlan(request.http_request if request.http_response is None else None,
                      request.http_response, IdentityStream())
