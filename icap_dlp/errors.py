"""One exception tree for icap-dlp.

Every error carries the context needed to act on it: protocol errors carry the ICAP status the
server should answer with; configuration errors carry the file, line and field at fault.
"""

from __future__ import annotations


class IcapDlpError(Exception):
    """Base of every error raised on purpose by icap-dlp."""


class IcapProtocolError(IcapDlpError):
    """The peer sent something that is not valid ICAP (or exceeds a limit).

    ``status_hint`` is the ICAP status code to answer with. ``recoverable`` is False when the
    byte stream can no longer be trusted (the connection must be closed after the answer).
    """

    def __init__(self, message: str, status_hint: int = 400, *, recoverable: bool = False) -> None:
        super().__init__(message)
        self.status_hint = status_hint
        self.recoverable = recoverable


class LimitExceeded(IcapProtocolError):
    """A configured size limit was exceeded while parsing."""

    def __init__(self, what: str, limit: int, status_hint: int = 400) -> None:
        super().__init__(f"{what} exceeds the limit of {limit} bytes", status_hint)
        self.what = what
        self.limit = limit


class ConfigError(IcapDlpError):
    """A configuration, detector or policy file is invalid.

    The message is rendered as ``file:line: field: message`` so editors and CI logs can jump to it.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        super().__init__(self.render())

    def render(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line:
                where += f":{self.line}"
            where += ": "
        fld = f"{self.field}: " if self.field else ""
        return f"{where}{fld}{self.message}"


class ConfigErrors(ConfigError):
    """Several configuration errors found in one pass (all are reported, not just the first)."""

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = errors
        first = errors[0]
        super().__init__(first.message, file=first.file, line=first.line, field=first.field)

    def render(self) -> str:
        return "\n".join(e.render() for e in getattr(self, "errors", [])) or super().render()


class InspectionError(IcapDlpError):
    """Content could not be inspected (undecodable, oversized, timed out ...).

    ``reason`` is a stable machine-readable token used by failure policies, audit records and
    metrics: one of ``oversize``, ``undecodable``, ``timeout``, ``internal``.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def failure_reason(exc: BaseException) -> str:
    """The failure-policy reason for an exception raised while inspecting content.

    Every exception inside inspection is a gap answered by the failure policy, never an allow:
    an :class:`InspectionError` carries its own reason; a timeout (the regex module raises the
    builtin ``TimeoutError``) is ``timeout``; nesting or memory exhaustion (``RecursionError``,
    ``MemoryError``) is ``oversize``; text that cannot be decoded or encoded is ``undecodable``;
    anything else is ``internal``.
    """
    if isinstance(exc, InspectionError):
        return exc.reason
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, RecursionError | MemoryError):
        return "oversize"
    if isinstance(exc, UnicodeError):
        return "undecodable"
    return "internal"
