"""One settings model. The CLI options, the environment variables (``ICAP_DLP_<NAME>``) and the
config-file keys are all generated from :class:`Settings`, so every setting is spelled once.

Precedence, lowest first: built-in default < config file (``--config`` / ``ICAP_DLP_CONFIG``) <
environment variable < command-line option.
"""

from __future__ import annotations

import argparse
import functools
import os
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from icap_dlp._yaml import load_yaml_file, pydantic_errors
from icap_dlp.content._codec import DEFAULT_SKIP, ContentLimits
from icap_dlp.errors import ConfigError, ConfigErrors

ENV_PREFIX = "ICAP_DLP_"
FailMode = Literal["open", "closed"]
DEFAULT_TLS_PORT = 11344


class Settings(BaseModel):
    """Every runtime setting of ``icap-dlp serve``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # -- listener and processes -------------------------------------------------------------
    host: str = Field("127.0.0.1", description="address to listen on")
    port: int = Field(1344, ge=0, le=65535, description="ICAP port")
    workers: int = Field(0, ge=0, le=256,
                         description="worker processes (0 = the CPUs this process may use: affinity, cgroup quota)")
    uvloop: bool = Field(True, description="use uvloop when installed")
    # -- ICAPS (TLS) and who may connect -----------------------------------------------------
    plain_icap: bool = Field(True, description="serve plain ICAP on --port (--no-plain-icap: ICAPS only)")
    tls_port: int | None = Field(
        None, ge=0, le=65535, description="ICAPS port (default 11344 when --tls-cert is set)")
    tls_cert: str | None = Field(None, description="PEM server certificate (chain) for ICAPS")
    tls_key: str | None = Field(None, description="PEM private key of --tls-cert")
    tls_client_ca: str | None = Field(
        None, description="PEM CA bundle: ICAPS clients must present a certificate it signed (mTLS)")
    tls_reload_interval: float = Field(
        5.0, gt=0, description="seconds between checks of the TLS files for an in-place rotation")
    allow_clients: str | None = Field(
        None, description="comma-separated CIDRs allowed to connect (default: any); others are closed "
                          "before any TLS or ICAP byte")
    # -- policy -----------------------------------------------------------------------------
    policy: str | None = Field(None, description="policy file or folder (default: the embedded policy)")
    detectors: str | None = Field(
        None, description="extra detector file or folder, loaded beside the built-in library"
    )
    # -- services ---------------------------------------------------------------------------
    respmod_service: str = Field("respmod", description="name of the RESPMOD service")
    reqmod_service: str = Field("reqmod", description="name of the REQMOD service")
    alias_service: str = Field("dlp", description="name of the service that accepts both methods")
    preview_size: int = Field(
        0, ge=0, le=1 << 20,
        description="Preview size announced in OPTIONS (0: decide from headers, stream bodies at once)",
    )
    options_ttl: int = Field(300, ge=1, description="Options-TTL in seconds")
    skip_content_types: str = Field(
        ",".join(DEFAULT_SKIP),
        description="comma-separated globs of specific binary media types answered from the headers "
                    "(generic ones such as application/octet-stream are sniffed; MCP responses always inspected)")
    # -- limits -----------------------------------------------------------------------------
    max_connections: int = Field(1000, ge=1, description="open connections per worker (over it: 503)")
    max_request_line: int = Field(8192, ge=64, description="bytes in the ICAP request line")
    max_icap_header_bytes: int = Field(65536, ge=256, description="bytes in the ICAP header block")
    max_http_header_bytes: int = Field(65536, ge=256, description="bytes in the encapsulated HTTP headers")
    max_chunk_size_line: int = Field(1024, ge=16, description="bytes in one chunk-size line")
    max_body_bytes: int = Field(
        16 * 1024 * 1024, ge=1024, description="body bytes held in memory for inspection"
    )
    max_body_leaves: int = Field(
        ContentLimits.max_leaves, ge=1000,
        description="values and keys of one structured body walked for inspection (about 1.5 KB each at the "
                    "peak of its inspection); past it the rest is a gap answered like an oversize body")
    offload_body_bytes: int = Field(
        256 * 1024, ge=0,
        description="a body of at least this many bytes (a compressed one: a sixteenth of it) is inspected "
                    "on the worker's inspection thread, so its event loop keeps answering other connections "
                    "meanwhile (0: every body)",
    )
    idle_timeout: float = Field(60.0, gt=0, description="seconds a keep-alive connection may stay idle")
    header_timeout: float = Field(10.0, gt=0, description="seconds to receive a whole ICAP request head")
    read_timeout: float = Field(30.0, gt=0, description="seconds without body bytes before giving up")
    shutdown_timeout: float = Field(20.0, gt=0, description="seconds SIGTERM waits for in-flight requests")
    # -- failure answers (audited) ----------------------------------------------------------
    on_oversize: FailMode = Field("closed", description="body over max-body-bytes: open (pass) or closed")
    on_error: FailMode = Field(
        "closed", description="inspection failed (undecodable, timeout, internal): open or closed"
    )
    # -- audit ------------------------------------------------------------------------------
    audit_file: str | None = Field(
        None, description="JSON Lines audit file (one per worker: audit.jsonl -> audit.w0.jsonl)")
    audit_stdout: bool = Field(False, description="also write audit records to stdout (containers)")
    audit_syslog: str | None = Field(
        None, description="syslog receiver: udp://host:port, tcp://host:port or tls://host:port")
    audit_format: Literal["json", "cef", "leef"] = Field("json", description="syslog message format")
    audit_clean_allows: bool = Field(False, description="also record clean allows (default: metrics only)")
    audit_query: Literal["drop", "hash", "keep"] = Field(
        "drop", description="URL query strings in audit records: drop, keyed hash, or keep")
    audit_queue_size: int = Field(10000, ge=1, description="records waiting for the sinks, per worker")
    audit_backpressure: Literal["spool", "block", "drop"] = Field(
        "spool", description="queue full: spool (an overflow list of the queue's size that the drainer takes "
        "next, sent on or spooled like any record), block (the connection waits, bounded) or drop (counted)")
    audit_block_timeout: float = Field(
        1.0, gt=0, le=60, description="with --audit-backpressure block: the longest a connection waits for room in "
        "a full audit queue before its record goes to the overflow list")
    audit_spool_dir: str | None = Field(
        None, description="spool for records a sink could not take (default: beside the audit file, "
                          "else /var/tmp/icap-dlp-spool); replayed in order, survives restarts")
    audit_sample_clean: float = Field(
        1.0, ge=0, le=1, description="with --audit-clean-allows: the fraction of clean allows recorded")
    audit_rotate_bytes: int = Field(100 * 1024 * 1024, ge=1024, description="rotate the audit file at this size")
    audit_keep: int = Field(10, ge=1, description="rotated audit files to keep")
    audit_rotate_seconds: float = Field(0, ge=0, description="also rotate the audit file after this age (0: off)")
    audit_fsync_interval: float = Field(1.0, ge=0, description="seconds between fsyncs of the audit file")
    # -- metrics ----------------------------------------------------------------------------
    metrics_host: str = Field("127.0.0.1", description="address of the /metrics, /healthz, /readyz listener")
    metrics_port: int | None = Field(None, ge=0, le=65535, description="port of that listener (default: off)")
    # -- logging ----------------------------------------------------------------------------
    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="log level")

    @functools.cached_property
    def skip_types(self) -> tuple[str, ...]:
        return tuple(t.strip().lower() for t in self.skip_content_types.split(",") if t.strip())

    @property
    def worker_count(self) -> int:
        if self.workers:
            return self.workers
        from icap_dlp.cpus import usable_cpus

        return usable_cpus()

    @property
    def tls_enabled(self) -> bool:
        return self.tls_cert is not None

    @property
    def effective_tls_port(self) -> int | None:
        """The ICAPS port, or None when TLS is not configured."""
        if not self.tls_enabled:
            return None
        return DEFAULT_TLS_PORT if self.tls_port is None else self.tls_port

    @model_validator(mode="after")
    def _check_listeners(self) -> Settings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("--tls-cert and --tls-key go together")
        if self.tls_cert is None and (self.tls_client_ca is not None or self.tls_port is not None):
            raise ValueError("--tls-port and --tls-client-ca need --tls-cert and --tls-key")
        if not self.plain_icap and self.tls_cert is None:
            raise ValueError("--no-plain-icap needs ICAPS (--tls-cert and --tls-key): nothing would listen")
        if self.allow_clients is not None:
            from icap_dlp.allowlist import parse_networks

            try:
                parse_networks(self.allow_clients)
            except ConfigError as exc:
                raise ValueError(f"--allow-clients: {exc.message}") from exc
        if self.plain_icap and self.port and self.port == self.effective_tls_port:
            raise ValueError("--port and --tls-port must differ")
        return self


def _field_kind(annotation: Any) -> type:
    """The scalar type behind an annotation such as ``int``, ``str | None`` or a Literal."""
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return type(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _field_kind(args[0])
    return annotation  # type: ignore[no-any-return]


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one ``--option`` per setting (default ``None`` = not given on the command line)."""
    parser.add_argument("--config", metavar="FILE", help=f"YAML config file (env {ENV_PREFIX}CONFIG)")
    for name, info in Settings.model_fields.items():
        flag = "--" + name.replace("_", "-")
        kind = _field_kind(info.annotation)
        help_text = f"{info.description} (env {env_name(name)}; default {info.default!r})"
        choices = None
        if typing.get_origin(info.annotation) is Literal:
            choices = list(typing.get_args(info.annotation))
        if kind is bool:
            parser.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=None,
                                help=help_text)
        else:
            parser.add_argument(flag, dest=name, type=kind, default=None, choices=choices, help=help_text,
                                metavar=None if choices else name.upper())


def load_settings(
    cli: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    config_file: str | None = None,
) -> Settings:
    """Merge file, environment and CLI values into validated :class:`Settings`."""
    cli = dict(cli or {})
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    config_file = config_file or cli.pop("config", None) or env.get(ENV_PREFIX + "CONFIG")
    doc = None
    if config_file:
        doc = load_yaml_file(config_file)
        if doc.data is not None and not isinstance(doc.data, dict):
            raise ConfigError("a config file must be a mapping of setting: value", file=config_file, line=1)
        values.update({k.replace("-", "_"): v for k, v in (doc.data or {}).items()})
    for name in Settings.model_fields:
        raw = env.get(env_name(name))
        if raw is not None:
            values[name] = raw
    for name, value in cli.items():
        if value is not None and name in Settings.model_fields:
            values[name] = value
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        errors: list[ConfigError] = []
        for err in exc.errors(include_url=False):
            field = str(err["loc"][0]) if err["loc"] else ""
            msg = "unknown setting" if err["type"] == "extra_forbidden" else err["msg"]
            if field in cli and cli[field] is not None:
                errors.append(ConfigError(msg, field="--" + field.replace("_", "-")))
            elif env.get(env_name(field)) is not None:
                errors.append(ConfigError(msg, field=env_name(field)))
            elif doc is not None:
                errors.extend(pydantic_errors(doc, [err]).errors)
            else:
                errors.append(ConfigError(msg, field=field))
        raise ConfigErrors(errors) from exc


def default_policy_path() -> Path:
    return Path(__file__).parent / "data" / "policies" / "default.yaml"
