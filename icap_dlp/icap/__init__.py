"""Sans-IO ICAP (RFC 3507): a parser fed bytes that yields events, and a response serialiser.

Nothing in this package imports asyncio or touches sockets or clocks.
"""

from icap_dlp.icap._events import (
    BodyChunk,
    Encapsulated,
    EndOfMessage,
    Event,
    HttpRequestHead,
    HttpResponseHead,
    IcapRequest,
    Method,
    PreviewComplete,
)
from icap_dlp.icap._headers import Headers
from icap_dlp.icap._parser import NEED_DATA, IcapParser, Limits
from icap_dlp.icap._serializer import (
    LAST_CHUNK,
    REASONS,
    ServiceCapabilities,
    chunk,
    continue_response,
    error_response,
    modified_head,
    no_content_response,
    options_response,
)

__all__ = [
    "LAST_CHUNK",
    "NEED_DATA",
    "REASONS",
    "BodyChunk",
    "Encapsulated",
    "EndOfMessage",
    "Event",
    "Headers",
    "HttpRequestHead",
    "HttpResponseHead",
    "IcapParser",
    "IcapRequest",
    "Limits",
    "Method",
    "PreviewComplete",
    "ServiceCapabilities",
    "chunk",
    "continue_response",
    "error_response",
    "modified_head",
    "no_content_response",
    "options_response",
]
