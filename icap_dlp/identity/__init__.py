"""Who sent a request: a verified OIDC token first, else (when trusted) the proxy's headers.

:class:`IdentityResolver` is built once per policy version (the JWKS file is re-read on reload)
and applied to every request head. Its answer names the source of the identity (``jwt``,
``proxy`` or none), whether it counts as authenticated (condition ``authenticated``) and, for a
token that was present but refused, why (``expired``, ``bad signature``, ``wrong audience`` ...).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from pathlib import Path

from icap_dlp.icap import IcapRequest
from icap_dlp.identity._jwt import JwtVerifier, TokenRejected, Verified
from icap_dlp.policy import Identity

__all__ = ["IdentityResolver", "JwtVerifier", "Resolved", "TokenRejected", "Verified", "decode_user"]


def decode_user(raw: str | None, encoding: str) -> str | None:
    if not raw:
        return None
    raw = raw.strip()
    if encoding == "plain":
        return raw
    try:
        decoded = base64.b64decode(raw, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        if encoding == "base64":
            return None
        return raw
    if encoding == "auto" and (not decoded.isprintable() or not decoded):
        return raw
    return decoded


@dataclass(frozen=True)
class Resolved:
    user: str | None = None
    groups: tuple[str, ...] = ()
    source: str | None = None  # "jwt" | "proxy" | None
    authenticated: bool = False
    token_error: str | None = None  # why a presented token gave no identity


def bearer_token(value: str | None, header: str) -> str | None:
    """The token in ``Authorization: Bearer <t>``; other headers may hold it bare."""
    if not value:
        return None
    value = value.strip()
    scheme, _, rest = value.partition(" ")
    if scheme.lower() == "bearer":
        return rest.strip() or None
    if header.lower() == "authorization":
        return None  # Basic, Negotiate ...: not a token of ours
    return value


class IdentityResolver:
    def __init__(self, settings: Identity, verifier: JwtVerifier | None = None) -> None:
        self.settings = settings
        self.verifier = verifier

    @classmethod
    def build(cls, settings: Identity, base: Path | None = None) -> IdentityResolver:
        verifier = JwtVerifier.from_settings(settings.jwt, base) if settings.jwt is not None else None
        return cls(settings, verifier)

    def resolve(self, req: IcapRequest) -> Resolved:
        http_req = req.http_request
        token_error = None
        if self.verifier is not None and http_req is not None:
            header = self.verifier.cfg.header
            token = bearer_token(http_req.headers.get(header), header)
            if token is not None:
                try:
                    v = self.verifier.verify(token)
                except TokenRejected as exc:
                    token_error = exc.reason
                else:
                    return Resolved(v.user, v.groups, "jwt", True)
        if not self.settings.trust_proxy_headers:
            return Resolved(token_error=token_error)
        user, groups = self._proxy(req)
        if user is None and not groups:
            return Resolved(token_error=token_error)
        return Resolved(user, groups, "proxy", user is not None, token_error)

    def _proxy(self, req: IcapRequest) -> tuple[str | None, tuple[str, ...]]:
        ident = self.settings
        http_req = req.http_request
        user = decode_user(req.headers.get(ident.user_header), ident.user_encoding)
        groups_raw = req.headers.get(ident.groups_header)
        if http_req is not None:
            if ident.http_user_header and not user:
                user = http_req.headers.get(ident.http_user_header)
            if ident.http_groups_header and not groups_raw:
                groups_raw = http_req.headers.get(ident.http_groups_header)
        groups = tuple(g.strip() for g in (groups_raw or "").split(ident.groups_separator) if g.strip())
        return user, groups
