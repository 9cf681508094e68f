"""Audit records (never the value) and their delivery to files, stdout and syslog (JSON or CEF)."""

from icap_dlp.audit._record import SCHEMA, build_record, summarise
from icap_dlp.audit._sinks import AuditLogger, JsonlFileSink, StdoutSink, SyslogSink, to_cef, to_json, to_leef

__all__ = ["SCHEMA", "AuditLogger", "JsonlFileSink", "StdoutSink", "SyslogSink", "build_record", "summarise",
           "to_cef", "to_json", "to_leef"]
