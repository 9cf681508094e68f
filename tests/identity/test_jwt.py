"""Token verification with keys generated here: every way a token can be wrong gives no identity
and names why; a JWKS URL is fetched off the caller's thread, cached, refreshed on an unknown kid
at most once per interval."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from icap_dlp.errors import ConfigError
from icap_dlp.icap import Encapsulated, Headers, HttpRequestHead, IcapRequest, Method
from icap_dlp.identity import IdentityResolver, JwtVerifier, TokenRejected, bearer_token
from icap_dlp.policy import Identity, Jwt
from tests.conftest import wait_until
from tests.identity.idp import AUDIENCE, ISSUER, SigningKey, jwks, serve_jwks, unsigned_token


def cfg(**kw: Any) -> Jwt:
    base: dict[str, Any] = {"issuer": ISSUER, "audience": AUDIENCE}
    base.update(kw)
    return Jwt.model_validate(base)


def file_verifier(tmp_path: Path, *keys: SigningKey, **kw: Any) -> JwtVerifier:
    f = tmp_path / "jwks.json"
    f.write_text(json.dumps(jwks(*keys)))
    return JwtVerifier.from_settings(cfg(jwks_file=str(f), **kw))


def reason(v: JwtVerifier, token: str) -> str:
    with pytest.raises(TokenRejected) as exc:
        v.verify(token)
    return exc.value.reason


@pytest.fixture(scope="module")
def rsa_key() -> SigningKey:
    return SigningKey.new("2026-11", "RS256")


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256", "EdDSA"])
def test_valid_token_of_each_algorithm(tmp_path: Path, alg: str) -> None:
    key = SigningKey.new("k1", alg)
    v = file_verifier(tmp_path, key, groups_claim="realm_access.roles")
    who = v.verify(key.token(realm_access={"roles": ["contractors", "staff", 7]}))
    assert who.user == "carol" and who.groups == ("contractors", "staff")


def test_expired_not_yet_valid_and_leeway(tmp_path: Path, rsa_key: SigningKey) -> None:
    v = file_verifier(tmp_path, rsa_key, leeway=30)
    now = int(time.time())
    assert reason(v, rsa_key.token(exp=now - 120)) == "expired"
    assert v.verify(rsa_key.token(exp=now - 10)).user == "carol"  # inside the leeway
    assert reason(v, rsa_key.token(nbf=now + 300)) == "not yet valid"
    assert v.verify(rsa_key.token(nbf=now + 10)).user == "carol"
    assert reason(v, rsa_key.token(exp=None)) == "missing claim"


def test_issuer_and_audience_are_required_and_checked(tmp_path: Path, rsa_key: SigningKey) -> None:
    v = file_verifier(tmp_path, rsa_key)
    assert reason(v, rsa_key.token(iss="https://evil.example")) == "wrong issuer"
    assert reason(v, rsa_key.token(aud="another-app")) == "wrong audience"
    assert reason(v, rsa_key.token(aud=None)) == "missing claim"
    assert reason(v, rsa_key.token(iss=None)) == "missing claim"
    assert v.verify(rsa_key.token(aud=["other", AUDIENCE])).user == "carol"


def test_another_key_none_and_hmac_are_refused(tmp_path: Path, rsa_key: SigningKey) -> None:
    v = file_verifier(tmp_path, rsa_key)
    forger = SigningKey.new(rsa_key.kid, "RS256")  # same kid, different key
    assert reason(v, forger.token()) == "bad signature"
    assert reason(v, SigningKey.new("unknown-kid").token()) == "unknown key"
    assert reason(v, unsigned_token()) == "algorithm not allowed"
    # the classic confusion: the public key (which anyone can fetch) used as an HMAC secret
    pem = rsa_key.private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    hs = _hs256_by_hand(pem, rsa_key.kid)  # PyJWT itself refuses to HMAC with a PEM key
    assert reason(v, hs) == "algorithm not allowed"
    assert reason(v, "not.a.token") == "malformed"
    assert reason(v, "x" * 20000) == "too large"
    # an algorithm the policy did not list, though the key type would fit
    es = SigningKey.new("es", "ES256")
    assert reason(file_verifier(tmp_path, es, algorithms=["RS256"]), es.token()) == "algorithm not allowed"


def _hs256_by_hand(secret: bytes, kid: str) -> str:
    def b64(d: bytes) -> str:
        return base64.urlsafe_b64encode(d).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = b64(json.dumps({"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": int(time.time()) + 60}).encode())
    sig = b64(hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{sig}"


def test_token_without_kid_and_key_type_mismatch(tmp_path: Path) -> None:
    rsa_k, ec_k = SigningKey.new("r"), SigningKey.new("e", "ES256")
    v = file_verifier(tmp_path, rsa_k, ec_k)
    assert v.verify(ec_k.token(kid=None)).user == "carol"
    # an ES256 token that names the RSA key's kid: the key type does not fit the algorithm
    assert reason(v, ec_k.token(kid="r")) == "unknown key"


def test_user_claim_choice_and_missing_user(tmp_path: Path, rsa_key: SigningKey) -> None:
    v = file_verifier(tmp_path, rsa_key, user_claim="email")
    assert v.verify(rsa_key.token(email="carol@example.com")).user == "carol@example.com"
    assert reason(v, rsa_key.token()) == "no usable email claim"


def test_jwks_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the JWKS") as e:
        JwtVerifier.from_settings(cfg(jwks_file=str(tmp_path / "missing.json")))
    assert e.value.file == str(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}')  # symmetric keys are never used
    with pytest.raises(ConfigError, match="no usable signing key"):
        JwtVerifier.from_settings(cfg(jwks_file=str(bad)))


def test_schema_rules() -> None:
    for bad in ({"jwks_file": "a", "jwks_url": "https://x/jwks"}, {}, {"jwks_url": "http://idp.example/jwks"},
                {"jwks_file": "a", "algorithms": ["HS256"]}, {"jwks_file": "a", "algorithms": ["none"]}):
        with pytest.raises(ValueError):
            cfg(**bad)
    with pytest.raises(ValueError):
        Jwt.model_validate({"jwks_file": "a", "audience": AUDIENCE})  # issuer required
    assert cfg(jwks_url="http://127.0.0.1:9/jwks").jwks_url  # loopback may be http


def test_bearer_token_extraction() -> None:
    assert bearer_token("Bearer abc.def.ghi", "Authorization") == "abc.def.ghi"
    assert bearer_token("bearer  abc", "Authorization") == "abc"
    assert bearer_token("Basic dXNlcjpwdw==", "Authorization") is None
    assert bearer_token("abc.def.ghi", "X-Forwarded-Access-Token") == "abc.def.ghi"
    assert bearer_token(None, "Authorization") is None


def test_jwks_url_rotation_to_a_new_kid_with_rate_limited_refresh() -> None:
    old, new = SigningKey.new("old"), SigningKey.new("new", "ES256")
    with serve_jwks(jwks(old)) as idp:
        v = JwtVerifier.from_settings(cfg(jwks_url=idp.url, jwks_refresh_interval=3600))
        wait_until(lambda: v.keys.fetches == 1)  # type: ignore[union-attr]
        assert v.verify(old.token()).user == "carol"
        # the IdP rotates: the new key is published, tokens start naming it
        idp.document = jwks(new, old)
        assert reason(v, new.token()) == "unknown key"  # not waited for: answered at once
        wait_until(lambda: v.keys.fetches == 2)  # type: ignore[union-attr]
        assert v.verify(new.token()).user == "carol"
        assert v.verify(old.token()).user == "carol"
        # made-up kids: no further fetch within the refresh interval
        liar = SigningKey.new("liar")
        for i in range(50):
            assert reason(v, liar.token(kid=f"made-up-{i}")) == "unknown key"
        assert len(idp.hits) == 2


def test_jwks_url_refresh_never_blocks_the_caller() -> None:
    key, rotated = SigningKey.new("k"), SigningKey.new("k2", "EdDSA")
    with serve_jwks(jwks(key)) as idp:
        v = JwtVerifier.from_settings(cfg(jwks_url=idp.url, jwks_timeout=10))
        assert v.keys.fetches == 1  # type: ignore[union-attr]  # fetched while the policy was built
        assert v.verify(key.token()).user == "carol"
        idp.stall.clear()  # the IdP hangs from now on
        idp.document = jwks(key, rotated)
        # the refresh for the unknown kid is in flight and hanging; verification answers now
        assert reason(v, rotated.token()) == "unknown key"
        wait_until(lambda: len(idp.hits) == 2)
        assert v.keys._inflight  # type: ignore[union-attr]
        assert v.verify(key.token()).user == "carol"  # known keys keep working meanwhile
        idp.stall.set()
        wait_until(lambda: v.keys.fetches == 2)  # type: ignore[union-attr]
        assert v.verify(rotated.token()).user == "carol"


def test_jwks_url_down_at_start_gives_no_identity_then_recovers() -> None:
    key = SigningKey.new("k")
    with serve_jwks({"keys": "not a list"}) as idp:
        v = JwtVerifier.from_settings(cfg(jwks_url=idp.url, jwks_refresh_interval=0))
        assert v.keys.fetches == 1 and v.keys.keys == {}  # type: ignore[union-attr]
        assert reason(v, key.token()) == "unknown key"  # the IdP still serves nothing usable
        idp.document = jwks(key)

        def recovered() -> bool:  # each unknown kid asks for a refresh (interval 0): poll for it
            try:
                return v.verify(key.token()).user == "carol"
            except TokenRejected:
                return False

        wait_until(recovered)
        assert v.keys.fetches >= 2  # type: ignore[union-attr]


def _request(headers: dict[str, str], icap_headers: dict[str, str] | None = None) -> IcapRequest:
    http = HttpRequestHead("GET", "http://origin.test/mcp", "HTTP/1.1",
                           Headers([("Host", "origin.test"), *headers.items()]))
    return IcapRequest(Method.RESPMOD, "icap://127.0.0.1/respmod", "respmod", "", "ICAP/1.0",
                       Headers(list((icap_headers or {}).items())), Encapsulated(()), http_request=http)


def test_resolver_prefers_the_token_and_proxy_headers_only_without_one(tmp_path: Path, rsa_key: SigningKey) -> None:
    f = tmp_path / "jwks.json"
    f.write_text(json.dumps(jwks(rsa_key)))
    ident = Identity.model_validate({"jwt": {"jwks_file": str(f), "issuer": ISSUER, "audience": AUDIENCE}})
    r = IdentityResolver.build(ident)
    proxy = {"X-Authenticated-User": "alice"}
    good = r.resolve(_request({"Authorization": "Bearer " + rsa_key.token(groups=["finance"])}, proxy))
    assert (good.user, good.groups, good.source, good.authenticated) == ("carol", ("finance",), "jwt", True)
    expired = r.resolve(_request({"Authorization": "Bearer " + rsa_key.token(exp=1)}, proxy))
    assert (expired.user, expired.source, expired.token_error) == ("alice", "proxy", "expired")
    strict = IdentityResolver.build(ident.model_copy(update={"trust_proxy_headers": False}))
    none = strict.resolve(_request({"Authorization": "Bearer " + rsa_key.token(exp=1)}, proxy))
    assert (none.user, none.authenticated, none.token_error) == (None, False, "expired")
    assert strict.resolve(_request({}, proxy)) == type(none)()


def test_cache_respects_expiry(tmp_path: Path, rsa_key: SigningKey) -> None:
    v = file_verifier(tmp_path, rsa_key, leeway=0)
    token = rsa_key.token(exp=int(time.time()) + 2)
    assert v.verify(token).user == "carol"
    assert v.verify(token).user == "carol"  # from the cache

    def expired() -> bool:
        try:
            v.verify(token)
        except TokenRejected as exc:
            return exc.reason == "expired"
        return False

    wait_until(expired, timeout=30)


def test_cache_is_dropped_when_the_key_set_changes() -> None:
    old, new = SigningKey.new("old"), SigningKey.new("new")
    with serve_jwks(jwks(old)) as idp:
        v = JwtVerifier.from_settings(cfg(jwks_url=idp.url))
        wait_until(lambda: v.keys.fetches == 1)  # type: ignore[union-attr]
        token = old.token()
        assert v.verify(token).user == "carol"
        idp.document = jwks(new)  # the old key is withdrawn (compromised)
        assert reason(v, new.token()) == "unknown key"  # triggers the refresh
        wait_until(lambda: v.keys.fetches == 2)  # type: ignore[union-attr]
        assert reason(v, token) == "unknown key"  # no longer accepted from the cache
