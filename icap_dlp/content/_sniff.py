"""What a body holds, from its first bytes: a declared media type is only a hint.

``sniff(head)`` reads the first bytes of a body whose type is generic or unknown (or of any
response to an MCP request): JSON, NDJSON, SSE and text are inspected; a binary format known by
its magic bytes (or bytes that are not mostly printable UTF-8) is skipped, with the format as
the reason.
"""

from __future__ import annotations

from icap_dlp.content._codec import BodyKind

SNIFF_BYTES = 4096  # bytes held back to decide

# (magic at offset 0, name). ISO BMFF (MP4, HEIC, AVIF ...) has "ftyp" at offset 4.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"), (b"GIF87a", "gif"), (b"GIF89a", "gif"),
    (b"RIFF", "riff"), (b"II*\x00", "tiff"), (b"MM\x00*", "tiff"), (b"\x00\x00\x01\x00", "ico"),
    (b"%PDF-", "pdf"), (b"PK\x03\x04", "zip"), (b"PK\x05\x06", "zip"), (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"), (b"7z\xbc\xaf\x27\x1c", "7z"), (b"Rar!\x1a\x07", "rar"),
    (b"\x28\xb5\x2f\xfd", "zstd"), (b"ID3", "mp3"), (b"OggS", "ogg"), (b"fLaC", "flac"),
    (b"\x1aE\xdf\xa3", "matroska"), (b"\x7fELF", "elf"), (b"MZ", "pe"), (b"\xca\xfe\xba\xbe", "java-class"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"), (b"wOFF", "woff"), (b"wOF2", "woff2"),
    (b"\x00asm", "wasm"), (b"SQLite format 3\x00", "sqlite"), (b"\xff\xfb", "mp3"), (b"\xff\xf3", "mp3"),
)
_SSE_FIELDS = (b"data:", b"event:", b"id:", b"retry:", b":")


def magic_name(head: bytes) -> str | None:
    """The binary format ``head`` starts with, if it is a known one."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if head[4:8] == b"ftyp":
        return "iso-bmff"
    return None


def looks_text(data: bytes) -> bool:
    """Valid UTF-8 (a character cut at the end aside), no NUL, and at least 95 % printable."""
    sample = data[:SNIFF_BYTES]
    if b"\x00" in sample:
        return False
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 3:
            return False
        text = sample[:exc.start].decode("utf-8")
    if not text:
        return True
    return sum(c.isprintable() or c in "\r\n\t" for c in text) >= 0.95 * len(text)


def sniff(head: bytes) -> tuple[BodyKind, str]:
    """(kind, reason): the kind to inspect ``head``'s body as, or SKIP with the binary format."""
    name = magic_name(head)
    if name is not None:
        return BodyKind.SKIP, f"binary:{name}"
    if not looks_text(head):
        return BodyKind.SKIP, "binary:unknown"
    s = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if s.startswith((b"{", b"[")):
        first, nl, rest = s.partition(b"\n")
        if nl and rest.lstrip().startswith((b"{", b"[")) and first.rstrip().endswith((b"}", b"]")):
            return BodyKind.NDJSON, "sniffed:ndjson"
        return BodyKind.JSON, "sniffed:json"
    if s.startswith(_SSE_FIELDS):
        return BodyKind.SSE, "sniffed:sse"
    return BodyKind.TEXT, "sniffed:text"
