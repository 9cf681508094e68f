"""Events the sans-IO parser yields, and the encapsulated HTTP message heads."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from icap_dlp.icap._headers import Headers


class Method(enum.Enum):
    OPTIONS = "OPTIONS"
    REQMOD = "REQMOD"
    RESPMOD = "RESPMOD"


@dataclass(frozen=True, slots=True)
class HttpRequestHead:
    method: str
    target: str
    version: str
    headers: Headers

    def encode(self) -> bytes:
        line = f"{self.method} {self.target} {self.version}\r\n".encode("latin-1", "replace")
        return line + self.headers.encode() + b"\r\n"


@dataclass(frozen=True, slots=True)
class HttpResponseHead:
    version: str
    status: int
    reason: str
    headers: Headers

    def encode(self) -> bytes:
        line = f"{self.version} {self.status} {self.reason}\r\n".encode("latin-1", "replace")
        return line + self.headers.encode() + b"\r\n"


@dataclass(frozen=True, slots=True)
class Encapsulated:
    """The parsed ``Encapsulated`` header: ordered (entity, offset) pairs."""

    entries: tuple[tuple[str, int], ...]

    @property
    def body_entity(self) -> str | None:
        name = self.entries[-1][0] if self.entries else None
        return name if name in ("req-body", "res-body", "opt-body") else None

    @property
    def has_body(self) -> bool:
        return self.body_entity is not None

    def offset(self, name: str) -> int | None:
        for n, off in self.entries:
            if n == name:
                return off
        return None


@dataclass(frozen=True, slots=True)
class IcapRequest:
    """Everything before the body: request line, ICAP headers, encapsulated HTTP heads."""

    method: Method
    uri: str
    service: str
    query: str
    version: str
    headers: Headers
    encapsulated: Encapsulated
    http_request: HttpRequestHead | None = None
    http_response: HttpResponseHead | None = None
    preview: int | None = None

    @property
    def has_body(self) -> bool:
        return self.encapsulated.has_body

    @property
    def allow_204(self) -> bool:
        return "204" in self.headers.tokens("Allow")

    @property
    def allow_206(self) -> bool:
        return "206" in self.headers.tokens("Allow")

    @property
    def wants_close(self) -> bool:
        return "close" in self.headers.tokens("Connection")


@dataclass(frozen=True, slots=True)
class BodyChunk:
    """Decoded body bytes (chunk framing removed); ``in_preview`` for bytes of the preview."""

    data: bytes
    in_preview: bool


@dataclass(frozen=True, slots=True)
class PreviewComplete:
    """The preview ended without ``ieof``: the server must answer (100 Continue, 204 or a result)."""


@dataclass(frozen=True, slots=True)
class EndOfMessage:
    """The request is complete. ``ieof`` is True when it ended inside the preview."""

    trailers: Headers = field(default_factory=Headers)
    ieof: bool = False


Event = IcapRequest | BodyChunk | PreviewComplete | EndOfMessage
