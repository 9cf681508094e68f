"""icap-dlp: an ICAP (RFC 3507) content-inspection server for AI tool (MCP) traffic."""

from icap_dlp._version import __version__

__all__ = ["__version__"]
