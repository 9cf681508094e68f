"""Compiling ``when`` conditions and ``exceptions`` into fast predicates over a RequestContext."""

from __future__ import annotations

import fnmatch
import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import regex

from icap_dlp._yaml import YamlDoc
from icap_dlp.model import RequestContext
from icap_dlp.policy._schema import Condition, Exceptions

Predicate = Callable[[RequestContext, bool], bool]
"""``pred(ctx, partial)``: with ``partial`` True, conditions on body-derived fields (MCP method,
tool) count as met; the server uses that to decide from headers whether a body needs reading."""

_BODY_FIELDS = ("mcp_method", "tool")


def _glob(patterns: Sequence[str], *, case: bool = False) -> Callable[[str | None], bool]:
    pats = [p if case else p.lower() for p in patterns]
    rx = [regex.compile(p[3:]) for p in pats if p.startswith("re:")]
    globs = [p for p in pats if not p.startswith("re:")]

    def match(value: str | None) -> bool:
        if value is None:
            return False
        v = value if case else value.lower()
        return any(fnmatch.fnmatchcase(v, g) for g in globs) or any(r.search(v) for r in rx)

    return match


def _cidrs(values: Sequence[str], doc: YamlDoc, path: tuple[str | int, ...]) -> Callable[[str | None], bool]:
    nets = []
    for i, v in enumerate(values):
        try:
            nets.append(ipaddress.ip_network(v, strict=False))
        except ValueError as exc:
            raise doc.error((*path, i), f"not an IP address or CIDR range: {exc}") from None

    def match(value: str | None) -> bool:
        if not value:
            return False
        try:
            ip = ipaddress.ip_address(value)
        except ValueError:
            return False
        return any(ip in n for n in nets)

    return match


def compile_condition(cond: Condition | None, doc: YamlDoc, path: tuple[str | int, ...]) -> Predicate:
    if cond is None:
        return lambda ctx, partial: True
    checks: list[Predicate] = []

    def field_check(name: str, getter: Callable[[RequestContext], str | None],
                    matcher: Callable[[str | None], bool]) -> None:
        body_field = name in _BODY_FIELDS

        def check(ctx: RequestContext, partial: bool) -> bool:
            value = getter(ctx)
            if value is None and body_field and partial:
                return True
            return matcher(value)

        checks.append(check)

    for name in ("direction", "service", "http_method", "content_type", "mcp_method", "host", "url"):
        pats = getattr(cond, name)
        if pats is not None:
            if name == "content_type":  # media types match without their parameters
                pats = [media_type(p) if not p.startswith("re:") else p for p in pats]
            try:
                m = _glob(pats)
            except regex.error as exc:
                raise doc.error((*path, name), f"invalid regex: {exc}") from None
            field_check(name, _getter(name), m)
    if cond.tool is not None:
        tool_m = _glob([t for t in cond.tool if t != "unknown"])
        wants_unknown = "unknown" in cond.tool

        def tool_check(ctx: RequestContext, partial: bool) -> bool:
            if ctx.tool is None:
                return partial or wants_unknown
            return tool_m(ctx.tool)

        checks.append(tool_check)
    if cond.user is not None:
        user_m = _glob(cond.user)
        checks.append(lambda ctx, partial: user_m(ctx.user))
    if cond.group is not None:
        group_m = _glob(cond.group)
        checks.append(lambda ctx, partial: any(group_m(g) for g in ctx.groups))
    if cond.client_ip is not None:
        ip_m = _cidrs(cond.client_ip, doc, (*path, "client_ip"))
        checks.append(lambda ctx, partial: ip_m(ctx.client_ip))
    if cond.authenticated is not None:
        want_auth = cond.authenticated
        checks.append(lambda ctx, partial: ctx.authenticated is want_auth)
    if cond.all is not None:
        subs = [compile_condition(c, doc, (*path, "all", i)) for i, c in enumerate(cond.all)]
        checks.append(lambda ctx, partial: all(s(ctx, partial) for s in subs))
    if cond.any is not None:
        subs_any = [compile_condition(c, doc, (*path, "any", i)) for i, c in enumerate(cond.any)]
        checks.append(lambda ctx, partial: any(s(ctx, partial) for s in subs_any))
    if cond.not_ is not None:
        sub_not = compile_condition(cond.not_, doc, (*path, "not"))
        # Under ``partial`` a negated body condition is unknown, so it must not exclude the rule.
        checks.append(lambda ctx, partial: partial or not sub_not(ctx, False))
    return lambda ctx, partial: all(c(ctx, partial) for c in checks)


def media_type(value: str) -> str:
    """``application/json; charset=utf-8`` -> ``application/json`` (RFC 9110 media type)."""
    return value.split(";", 1)[0].strip()


def _getter(name: str) -> Callable[[RequestContext], str | None]:
    if name == "direction":
        return lambda ctx: ctx.direction.value
    if name == "content_type":
        return lambda ctx: media_type(ctx.content_type) if ctx.content_type is not None else None
    return lambda ctx: getattr(ctx, name)


@dataclass(frozen=True)
class CompiledExceptions:
    values: frozenset[str]
    patterns: tuple[regex.Pattern[str], ...]
    context: Callable[[RequestContext], bool]

    def value_exempt(self, value: str) -> bool:
        return value in self.values or any(p.fullmatch(value, timeout=0.05) for p in self.patterns)


def compile_exceptions(exc: Exceptions | None, doc: YamlDoc, path: tuple[str | int, ...]) -> CompiledExceptions:
    if exc is None:
        return CompiledExceptions(frozenset(), (), lambda ctx: False)
    pats = []
    for i, p in enumerate(exc.patterns):
        try:
            pats.append(regex.compile(p))
        except regex.error as e:
            raise doc.error((*path, "patterns", i), f"invalid regex: {e}") from None
    hosts = _glob(exc.hosts) if exc.hosts else None
    tools = _glob(exc.tools) if exc.tools else None
    users = _glob(exc.users) if exc.users else None
    groups = _glob(exc.groups) if exc.groups else None

    def context(ctx: RequestContext) -> bool:
        return bool(
            (hosts and hosts(ctx.host))
            or (tools and tools(ctx.tool))
            or (users and users(ctx.user))
            or (groups and any(groups(g) for g in ctx.groups))
        )

    return CompiledExceptions(frozenset(exc.values), tuple(pats), context)
