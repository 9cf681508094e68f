"""What a body is: codecs (gzip/deflate/br), charsets, MCP JSON-RPC/JSON/NDJSON/form/text walkers, SSE."""

from icap_dlp.content._codec import (
    BodyKind,
    ContentLimits,
    charset_of,
    classify,
    decode_body,
    media_type,
)
from icap_dlp.content._encoded import Token, encoded_tokens, has_candidates
from icap_dlp.content._normalize import Normalized, normalize
from icap_dlp.content._parse import McpInfo, ParsedBody, mcp_info, parse
from icap_dlp.content._sniff import SNIFF_BYTES, magic_name, sniff
from icap_dlp.content._sse import SseEvent, SseStream

__all__ = [
    "SNIFF_BYTES",
    "BodyKind",
    "ContentLimits",
    "McpInfo",
    "Normalized",
    "ParsedBody",
    "SseEvent",
    "SseStream",
    "Token",
    "charset_of",
    "classify",
    "decode_body",
    "encoded_tokens",
    "has_candidates",
    "magic_name",
    "mcp_info",
    "media_type",
    "normalize",
    "parse",
    "sniff",
]
