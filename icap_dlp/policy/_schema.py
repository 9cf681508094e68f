"""The policy file schema (version 1). Strict: unknown keys are errors.

The JSON Schema published in ``schemas/policy.schema.json`` is generated from these models
(``python -m icap_dlp.policy._schema > schemas/policy.schema.json``) and a test keeps it in sync.
"""

from __future__ import annotations

import json
import typing
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from icap_dlp._yaml import published_schema

FailMode = Literal["open", "closed"]
ActionName = Literal["allow", "monitor", "redact", "block"]
StrList = Annotated[list[str], Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _listify(v: Any) -> Any:
    return [v] if isinstance(v, str) else v


class Failure(_Strict):
    """What to answer when a body can't be inspected. ``open`` passes it unchanged, ``closed``
    blocks it. Every such answer is audited with its reason."""

    oversize: FailMode | None = None
    undecodable: FailMode | None = None
    timeout: FailMode | None = None
    internal: FailMode | None = None


class GlobalFailure(Failure):
    """``failure`` under ``settings``: the per-reason answers, and what to do while audit records
    cannot be stored (``audit``: ``open`` keeps answering and raises the
    ``icap_dlp_audit_degraded`` gauge; ``closed`` blocks every request that would produce a record
    and makes ``/readyz`` answer 503 so traffic moves to healthy instances)."""

    audit: FailMode | None = None


JwtAlgorithm = Literal["RS256", "PS256", "ES256", "EdDSA"]


class Jwt(_Strict):
    """OIDC access/ID tokens verified against the identity provider's keys (JWKS)."""

    jwks_file: str | None = Field(None, description="a JWKS document on disk (re-read on reload)")
    jwks_url: str | None = Field(
        None, description="https URL of the JWKS (http only for loopback); fetched off the event loop")
    jwks_ca_file: str | None = Field(None, description="CA bundle for jwks_url (default: the system CAs)")
    jwks_timeout: float = Field(5.0, gt=0, le=60, description="seconds for one JWKS fetch")
    jwks_cache_seconds: float = Field(3600, ge=10, description="refresh the JWKS after this age")
    jwks_refresh_interval: float = Field(
        30, ge=0, description="at most one refresh per this many seconds when a token names an unknown kid")
    issuer: str = Field(min_length=1, description="required iss claim")
    audience: StrList = Field(description="accepted aud values (the token must name one)")
    user_claim: str = Field("sub", description="claim with the user: sub, email, preferred_username ...")
    groups_claim: str | None = Field(
        "groups", description="list claim with the groups; a dotted path such as realm_access.roles works")
    header: str = Field(
        "Authorization",
        description="encapsulated HTTP request header with the token (Authorization: Bearer ..., or a "
                    "header such as X-Forwarded-Access-Token that holds the bare token)")
    algorithms: list[JwtAlgorithm] = Field(
        default_factory=lambda: list(typing.get_args(JwtAlgorithm)), min_length=1,
        description="accepted signature algorithms (none and HMAC are never accepted)")
    leeway: float = Field(60, ge=0, le=300, description="seconds of clock skew allowed on exp and nbf")

    _norm = field_validator("audience", mode="before")(_listify)

    @model_validator(mode="after")
    def _one_source(self) -> Jwt:
        if (self.jwks_file is None) == (self.jwks_url is None):
            raise ValueError("give exactly one of jwks_file and jwks_url")
        if self.jwks_url is not None:
            u = urlsplit(self.jwks_url)
            loopback = u.hostname in ("localhost", "127.0.0.1", "::1") or (u.hostname or "").startswith("127.")
            if u.scheme != "https" and not (u.scheme == "http" and loopback):
                raise ValueError("jwks_url must be https (http only for a loopback address)")
        return self


class Identity(_Strict):
    """Where users and groups come from: a verified OIDC token (``jwt``), else headers set by the
    proxy or API gateway after SSO (when ``trust_proxy_headers``)."""

    user_header: str = "X-Authenticated-User"
    user_encoding: Literal["auto", "base64", "plain"] = "auto"
    groups_header: str = "X-Authenticated-Groups"
    groups_separator: str = ","
    http_user_header: str | None = Field(
        None, description="an encapsulated HTTP request header with the user (API gateways)")
    http_groups_header: str | None = None
    jwt: Jwt | None = None
    trust_proxy_headers: bool = Field(
        True, description="use the header-supplied identity when no verified token is present; "
                          "false: only a verified token identifies a user")
    required: bool = Field(
        False, description="a request without a verified identity (authenticated: false) triggers the "
                           "built-in rule identity-required")
    unauthenticated_action: ActionName = Field(
        "block", description="the action of the identity-required rule (monitor while rolling out)")


class Operator(_Strict):
    """A redaction operator: mask, tag, hash, partial or remove."""

    operator: Literal["mask", "tag", "hash", "partial", "remove"] = "tag"
    char: str = Field("*", min_length=1, max_length=1)
    keep_last: int = Field(4, ge=0, le=16)
    keep_first: int = Field(0, ge=0, le=16)
    tag: str | None = Field(None, description="tag text; default [ENTITY_TYPE]")


class Redaction(_Strict):
    default: Operator = Operator()
    entities: dict[str, Operator] = Field(default_factory=dict)


class GlobalSettings(_Strict):
    mode: Literal["enforce", "monitor"] = "enforce"
    failure: GlobalFailure = GlobalFailure()
    identity: Identity = Identity()
    redaction: Redaction = Redaction()
    context_header: str = "X-DLP-Context"
    block_error_code: int = Field(-32001, description="JSON-RPC error code of a blocked MCP message")
    ner_model: str | None = Field(None, description="spaCy model for NER detectors (default: first installed)")
    ner_timeout: float = Field(2.0, gt=0, le=60, description="CPU seconds of NER per message (per SSE event); "
                               "past it the 'timeout' failure policy answers")
    inspection_timeout: float = Field(10.0, gt=0, le=600, description="seconds of detection per message (per SSE "
                                      "event); past it the 'timeout' failure policy answers")
    sse_holdback: int = Field(0, ge=0, le=1, description="SSE events held back before they are sent: 1 lets a "
                              "value split across two events be redacted in both (one event of latency)")


class Condition(_Strict):
    """All given fields must match (lists: any of the values). ``all``/``any``/``not`` nest."""

    direction: list[Literal["reqmod", "respmod"]] | None = None
    service: list[str] | None = None
    http_method: list[str] | None = None
    host: list[str] | None = Field(None, description="globs such as *.internal.example.com")
    url: list[str] | None = Field(None, description="globs, or regexes written as re:PATTERN")
    content_type: list[str] | None = Field(None, description="globs such as application/*json")
    mcp_method: list[str] | None = None
    tool: list[str] | None = Field(None, description="MCP tool names (globs); 'unknown' matches no context")
    user: list[str] | None = None
    group: list[str] | None = None
    client_ip: list[str] | None = Field(None, description="CIDR ranges")
    authenticated: bool | None = Field(
        None, description="true: the user comes from a verified token (or trusted proxy headers)")
    all: list[Condition] | None = None
    any: list[Condition] | None = None
    not_: Condition | None = Field(None, alias="not")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    _norm = field_validator(
        "direction", "service", "http_method", "host", "url", "content_type", "mcp_method", "tool",
        "user", "group", "client_ip", mode="before",
    )(_listify)


class Detect(_Strict):
    detectors: list[str] | None = None
    entity_types: list[str] | None = None
    categories: list[str] | None = None
    min_score: float = Field(0.0, ge=0, le=1)
    min_count: int = Field(1, ge=1, description="findings (of the selected kinds) needed in one message")
    min_count_per_detector: int | None = Field(
        None, ge=1, description="trigger when any single detector has at least this many findings")

    _norm = field_validator("detectors", "entity_types", "categories", mode="before")(_listify)

    @model_validator(mode="after")
    def _some_selector(self) -> Detect:
        if not (self.detectors or self.entity_types or self.categories):
            raise ValueError("detect needs detectors, entity_types or categories")
        return self


class Exceptions(_Strict):
    values: list[str] = Field(default_factory=list, description="exact values never acted on")
    patterns: list[str] = Field(default_factory=list, description="regexes of values never acted on")
    hosts: list[str] = Field(default_factory=list)
    tools: list[str] = Field(default_factory=list)
    users: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)


class Rule(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    description: str = ""
    enabled: bool = True
    when: Condition | None = None
    detect: Detect | None = None
    action: ActionName
    redact: Redaction | None = None
    failure: Failure | None = None
    exceptions: Exceptions | None = None


class TestInput(_Strict):
    body: str | dict[str, Any] | list[Any] = ""
    content_type: str = "application/json"
    direction: Literal["reqmod", "respmod"] = "respmod"
    url: str = "http://mcp.example.test/mcp"
    http_method: str = "POST"
    user: str | None = None
    groups: list[str] = Field(default_factory=list)
    authenticated: bool | None = Field(
        None, description="a verified identity (condition authenticated); default: true when user is given")
    tool: str | None = None
    client_ip: str | None = None


class TestExpect(_Strict):
    decision: ActionName
    rules: list[str] | None = None
    output: str | dict[str, Any] | list[Any] | None = None
    output_contains: list[str] = Field(default_factory=list)
    output_not_contains: list[str] = Field(default_factory=list)


class PolicyTest(_Strict):
    name: str
    input: TestInput
    expect: TestExpect


class PolicyFile(_Strict):
    version: Literal[1]
    name: str
    description: str = ""
    settings: GlobalSettings | None = None
    detectors: list[str] = Field(default_factory=list, description="extra detector files (relative paths)")
    rules: list[Rule] = Field(default_factory=list)
    tests: list[PolicyTest] = Field(default_factory=list)


_LISTIFIED = {"Condition": ("direction", "service", "http_method", "host", "url", "content_type", "mcp_method",
                             "tool", "user", "group", "client_ip"),
              "Detect": ("detectors", "entity_types", "categories")}


def json_schema() -> dict[str, Any]:
    schema = published_schema(PolicyFile, "policy", "icap-dlp policy file")
    # These fields accept a single value as shorthand for a one-element list.
    for model, fields in _LISTIFIED.items():
        props = schema["$defs"][model]["properties"]
        for name in fields:
            alts = props[name]["anyOf"]
            arrays = [a for a in alts if a.get("type") == "array"]
            if arrays:
                alts.insert(1, arrays[0]["items"])
    return schema


if __name__ == "__main__":
    print(json.dumps(json_schema(), indent=2, sort_keys=True))
