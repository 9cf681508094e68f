"""OIDC token verification with PyJWT (+ ``cryptography``) against a JWKS from a file or a URL.

Only asymmetric algorithms are accepted (RS256, PS256, ES256, EdDSA): ``none`` and the HMAC
family are refused before any key is looked at, so a public key can never be used as an HMAC
secret. ``iss`` and ``aud`` are required and checked, ``exp`` is required, ``exp``/``nbf``/``iat``
are checked with a small leeway. A token that fails any check yields no identity, only a short
reason (``expired``, ``bad signature``, ``wrong audience`` ...) for the audit record; its claims
are never used.

The key set from ``jwks_url`` is fetched when the policy version is built (before a worker
serves, or off the event loop on reload), later on a background thread, always with a timeout;
cached for ``jwks_cache_seconds``, and refreshed early when a token names a ``kid`` the
cache does not know, at most once per ``jwks_refresh_interval`` seconds: a flood of tokens with
made-up kids cannot turn into a flood of requests to the identity provider. Until the refreshed
set arrives such a token is answered as ``unknown key`` (no identity, never a wait).
"""

from __future__ import annotations

import hashlib
import json
import logging
import ssl
import threading
import time
import urllib.request
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from icap_dlp.errors import ConfigError
from icap_dlp.policy import Jwt

log = logging.getLogger("icap_dlp.identity")

MAX_TOKEN_BYTES = 16 * 1024
MAX_JWKS_BYTES = 1 << 20
MAX_GROUPS = 256
MAX_CLAIM_CHARS = 512


@dataclass(frozen=True)
class Verified:
    user: str
    groups: tuple[str, ...]


class TokenRejected(Exception):
    """A token that gives no identity; ``reason`` is short, fixed text fit for an audit record."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_jwks(data: bytes, source: str) -> dict[str, jwt.PyJWK]:
    """kid -> key, for the signing keys we can use; unusable entries are skipped with a warning."""
    if len(data) > MAX_JWKS_BYTES:
        raise ConfigError(f"JWKS larger than {MAX_JWKS_BYTES} bytes", file=source)
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise ConfigError(f"JWKS is not JSON: {exc}", file=source) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise ConfigError('a JWKS is an object with a "keys" list', file=source)
    keys: dict[str, jwt.PyJWK] = {}
    for i, entry in enumerate(doc["keys"]):
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig" or entry.get("kty") == "oct":
            continue  # encryption keys and symmetric keys never verify a signature here
        try:
            key = jwt.PyJWK(entry)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as exc:
            log.warning("JWKS key skipped", extra={"fields": {"source": source, "index": i, "error": str(exc)}})
            continue
        keys[str(entry.get("kid") or f"#{i}")] = key
    return keys


class JwksFile:
    def __init__(self, path: str) -> None:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read the JWKS: {exc.strerror}", file=path,
                              field="settings.identity.jwt.jwks_file") from exc
        self.keys = parse_jwks(data, path)
        if not self.keys:
            raise ConfigError("the JWKS holds no usable signing key", file=path)

    def get(self, kid: str | None) -> list[jwt.PyJWK]:
        return _pick(self.keys, kid)


def _pick(keys: dict[str, jwt.PyJWK], kid: str | None) -> list[jwt.PyJWK]:
    if kid is not None:
        k = keys.get(kid)
        return [k] if k is not None else []
    return list(keys.values())  # a token without kid: any key of a matching algorithm


class JwksUrl:
    """A cached JWKS from a URL, refreshed on a background thread."""

    def __init__(self, cfg: Jwt, fetch_now: bool = True) -> None:
        assert cfg.jwks_url is not None
        self.url = cfg.jwks_url
        self.timeout = cfg.jwks_timeout
        self.max_age = cfg.jwks_cache_seconds
        self.min_interval = cfg.jwks_refresh_interval
        self.ssl = ssl.create_default_context(cafile=cfg.jwks_ca_file) if self.url.startswith("https") else None
        self.keys: dict[str, jwt.PyJWK] = {}
        self.fetched_at = 0.0
        self.last_attempt = -1e9
        self.fetches = 0
        self._lock = threading.Lock()
        self._inflight = False
        if fetch_now:
            # Built with the policy: at start-up before serving, on reload off the event loop.
            # A failed first fetch is logged; the server starts and tokens get "unknown key"
            # (no identity) until a later fetch succeeds.
            self._inflight = True
            self._fetch()

    def _fetch(self) -> None:
        try:
            req = urllib.request.Request(self.url, headers={"Accept": "application/json"})
            with urllib.request.urlopen(req, timeout=self.timeout, context=self.ssl) as r:
                data = r.read(MAX_JWKS_BYTES + 1)
            keys = parse_jwks(data, self.url)
        except (OSError, ConfigError, ValueError) as exc:
            log.error("JWKS fetch failed; keeping the cached keys",
                      extra={"fields": {"url": self.url, "error": str(exc)[:300]}})
        else:
            self.keys = keys  # one reference swap: readers see the old or the new set
            self.fetched_at = time.monotonic()
            log.info("JWKS fetched", extra={"fields": {"url": self.url, "keys": len(keys)}})
        finally:
            self.fetches += 1
            with self._lock:
                self._inflight = False

    def refresh(self, force: bool = False) -> bool:
        """Start a background fetch unless one ran within ``min_interval``; True when started."""
        now = time.monotonic()
        with self._lock:
            if self._inflight or (not force and now - self.last_attempt < self.min_interval):
                return False
            self._inflight = True
            if not force:  # the start-up fetch does not use up the unknown-kid budget
                self.last_attempt = now
        threading.Thread(target=self._fetch, name="icap-dlp-jwks", daemon=True).start()
        return True

    def get(self, kid: str | None) -> list[jwt.PyJWK]:
        if time.monotonic() - self.fetched_at > self.max_age:
            self.refresh()
        found = _pick(self.keys, kid)
        if not found:
            self.refresh()  # an unknown kid: maybe the IdP rotated; rate-limited
        return found


_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (jwt.ExpiredSignatureError, "expired"),
    (jwt.ImmatureSignatureError, "not yet valid"),
    (jwt.InvalidAudienceError, "wrong audience"),
    (jwt.InvalidIssuerError, "wrong issuer"),
    (jwt.InvalidIssuedAtError, "bad iat"),
    (jwt.InvalidSignatureError, "bad signature"),
    (jwt.InvalidAlgorithmError, "algorithm not allowed"),
    (jwt.MissingRequiredClaimError, "missing claim"),
    (jwt.DecodeError, "malformed"),
)


def _claim(claims: dict[str, Any], path: str) -> Any:
    cur: Any = claims
    if path in claims:
        return claims[path]  # a claim name that itself contains dots (URIs)
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


class JwtVerifier:
    """Verifies tokens; a verified token is remembered (by its SHA-256, up to ``CACHE_SIZE``) until
    its ``exp`` plus leeway, so the signature of a client's token is checked once, not on every
    request (an RS256/ES256 verification costs 0.4 to 0.7 ms). A changed key set empties the cache."""

    CACHE_SIZE = 4096

    def __init__(self, cfg: Jwt, keys: JwksFile | JwksUrl) -> None:
        self.cfg = cfg
        self.keys = keys
        self.algorithms = list(cfg.algorithms)
        self._cache: OrderedDict[bytes, tuple[Verified, float]] = OrderedDict()
        self._cache_keys: object = None
        self._lock = threading.Lock()  # NER inspection threads may resolve identities too

    def _cached(self, digest: bytes) -> Verified | None:
        with self._lock:
            if self._cache_keys is not self.keys.keys:  # the JWKS was refreshed: verify again
                self._cache.clear()
                self._cache_keys = self.keys.keys
                return None
            hit = self._cache.get(digest)
            if hit is None:
                return None
            who, expires = hit
            if time.time() > expires:
                del self._cache[digest]
                return None
            self._cache.move_to_end(digest)
            return who

    def _remember(self, digest: bytes, who: Verified, claims: dict[str, Any]) -> None:
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            return
        nbf = claims.get("nbf")
        if isinstance(nbf, int | float) and nbf > time.time():
            return  # valid only thanks to the leeway: not worth remembering
        with self._lock:
            self._cache[digest] = (who, float(exp) + self.cfg.leeway)
            while len(self._cache) > self.CACHE_SIZE:
                self._cache.popitem(last=False)

    @classmethod
    def from_settings(cls, cfg: Jwt, base: Path | None = None) -> JwtVerifier:
        if cfg.jwks_file is not None:
            path = Path(cfg.jwks_file)
            if base is not None and not path.is_absolute():
                path = base / path
            return cls(cfg, JwksFile(str(path)))
        return cls(cfg, JwksUrl(cfg))

    def verify(self, token: str) -> Verified:
        """The identity in ``token``, or :class:`TokenRejected` with the reason."""
        if len(token) > MAX_TOKEN_BYTES:
            raise TokenRejected("too large")
        digest = hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()
        cached = self._cached(digest)
        if cached is not None:
            return cached
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise TokenRejected("malformed") from None
        alg = header.get("alg")
        if alg not in self.algorithms:  # none, HS256 ...: refused before any key is chosen
            raise TokenRejected("algorithm not allowed")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise TokenRejected("malformed")
        candidates = [k for k in self.keys.get(kid) if _fits(k, alg)]
        if not candidates:
            raise TokenRejected("unknown key")
        last: TokenRejected | None = None
        for key in candidates:
            try:
                claims = jwt.decode(
                    token, key=key.key, algorithms=[alg], audience=self.cfg.audience, issuer=self.cfg.issuer,
                    leeway=self.cfg.leeway, options={"require": ["exp", "iss", "aud"], "verify_signature": True},
                )
            except jwt.InvalidTokenError as exc:
                last = TokenRejected(_reason(exc))
                if last.reason == "bad signature" and len(candidates) > 1:
                    continue  # no kid: try the next key
                raise last from None
            who = self._identity(claims)
            self._remember(digest, who, claims)
            return who
        assert last is not None
        raise last

    def _identity(self, claims: dict[str, Any]) -> Verified:
        user = _claim(claims, self.cfg.user_claim)
        if isinstance(user, int | float) and not isinstance(user, bool):
            user = str(user)
        if not isinstance(user, str) or not user or len(user) > MAX_CLAIM_CHARS:
            raise TokenRejected(f"no usable {self.cfg.user_claim} claim")
        groups: tuple[str, ...] = ()
        if self.cfg.groups_claim:
            raw = _claim(claims, self.cfg.groups_claim)
            if isinstance(raw, str):
                raw = [raw]
            if isinstance(raw, list):
                groups = tuple(g for g in raw[:MAX_GROUPS] if isinstance(g, str) and 0 < len(g) <= MAX_CLAIM_CHARS)
        return Verified(user, groups)


def _fits(key: jwt.PyJWK, alg: str) -> bool:
    """The key type must match the algorithm family (an RSA key never verifies ES256 ...)."""
    kty = key.key_type
    if alg in ("RS256", "PS256"):
        return kty == "RSA"
    if alg == "ES256":
        return kty == "EC"
    if alg == "EdDSA":
        return kty == "OKP"
    return False


def _reason(exc: Exception) -> str:
    for cls, reason in _REASONS:
        if isinstance(exc, cls):
            return reason
    return "invalid"
