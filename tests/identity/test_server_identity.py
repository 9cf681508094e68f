"""The issue's "done when", through the real server: a RESPMOD whose encapsulated request carries
a token with the contractors group is blocked for a card; the same request with an expired,
forged, wrong-audience or ``alg: none`` token does not get that identity and its audit record says
why; with ``identity.required: true`` those requests are blocked too."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from icap_dlp.client import IcapClient
from tests.conftest import ServerProc, free_port, start_server, wait_until
from tests.identity.idp import AUDIENCE, ISSUER, SigningKey, jwks, unsigned_token

CARD_BODY = json.dumps({"jsonrpc": "2.0", "id": 8, "result": {"content": [
    {"type": "text", "text": "card on file: 4111 1111 1111 1111"}]}}).encode()


def policy(required: bool) -> str:
    return f"""
version: 1
name: oidc
settings:
  identity:
    required: {str(required).lower()}
    jwt:
      jwks_file: jwks.json
      issuer: {ISSUER}
      audience: {AUDIENCE}
      user_claim: sub
      groups_claim: groups
rules:
  - id: contractors-no-cards
    when: {{group: [contractors]}}
    detect: {{entity_types: [CREDIT_CARD]}}
    action: block
  - id: cards-only-for-verified-finance
    description: block unless verified as finance
    when: {{not: {{all: [{{authenticated: true}}, {{group: [finance]}}]}}}}
    detect: {{entity_types: [CREDIT_CARD]}}
    action: redact
"""


KEY = SigningKey.new("idp-2026", "RS256")


def tokens() -> dict[str, str]:
    now = int(time.time())
    return {
        "expired": KEY.token(groups=["contractors"], exp=now - 3600),
        "bad signature": SigningKey.new(KEY.kid).token(groups=["contractors"]),
        "wrong audience": KEY.token(groups=["contractors"], aud="some-other-app"),
        "algorithm not allowed": unsigned_token(),
    }


METRICS_PORT = free_port()


def make_server(tmp: Path, required: bool) -> ServerProc:
    (tmp / "jwks.json").write_text(json.dumps(jwks(KEY)))
    (tmp / "policy.yaml").write_text(policy(required))
    extra = () if required else ("--metrics-port", str(METRICS_PORT))
    return start_server(tmp, "--policy", str(tmp / "policy.yaml"), "--audit-file", str(tmp / "audit" / "a.jsonl"),
                        *extra)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[bool, tuple[ServerProc, Path]]]:
    out = {}
    for required in (False, True):
        d = tmp_path_factory.mktemp(f"oidc-required-{required}")
        out[required] = (make_server(d, required), d / "audit")
    yield out
    for srv, _ in out.values():
        srv.stop()


def respmod(port: int, token: str | None, proxy_user: str | None = None) -> dict[str, str]:
    req = "GET http://mcp.example/mcp HTTP/1.1\r\nHost: mcp.example\r\n"
    if token is not None:
        req += f"Authorization: Bearer {token}\r\n"
    res = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(CARD_BODY)}\r\n\r\n"
    icap = {"X-Authenticated-User": proxy_user} if proxy_user else None
    with IcapClient("127.0.0.1", port) as c:
        r = c.request("RESPMOD", "respmod", http_request=(req + "\r\n").encode(), http_response=res.encode(),
                      body=CARD_BODY, headers=icap)
    return {k: v for k, v in r.headers.items()} | {"_body": (r.body or b"").decode(errors="replace")}


def record(audit: Path, incident: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    def written() -> bool:
        found[:] = [rec for f in audit.glob("*.jsonl") for line in f.read_text().splitlines()
                    if (rec := json.loads(line))["incident_id"] == incident]
        return bool(found)

    wait_until(written, 30, detail=lambda: f"no audit record for {incident}")
    return found[0]


def test_valid_contractor_token_is_blocked(servers: dict[bool, tuple[ServerProc, Path]]) -> None:
    for required in (False, True):
        srv, audit = servers[required]
        h = respmod(srv.port, KEY.token(groups=["contractors"]))
        assert h["X-DLP-Decision"] == "block", h
        assert "contractors-no-cards" in h["X-DLP-Rules"].split(",")
        assert "identity-required" not in h["X-DLP-Rules"]
        rec = record(audit, h["X-DLP-Incident"])
        assert rec["user"] == "carol" and rec["groups"] == ["contractors"]
        assert rec["identity"] == {"source": "jwt", "authenticated": True, "token_error": None}


@pytest.mark.parametrize("why", ["expired", "bad signature", "wrong audience", "algorithm not allowed"])
def test_bad_tokens_get_no_identity_and_say_why(servers: dict[bool, tuple[ServerProc, Path]], why: str) -> None:
    srv, audit = servers[False]
    h = respmod(srv.port, tokens()[why])
    # not the contractors' block: the unverified request only meets the "not verified finance" redaction
    assert h["X-DLP-Decision"] == "redact", h
    assert h["X-DLP-Rules"] == "cards-only-for-verified-finance"
    assert "4111 1111 1111 1111" not in h["_body"]
    rec = record(audit, h["X-DLP-Incident"])
    assert rec["user"] is None and rec["groups"] == []
    assert rec["identity"] == {"source": None, "authenticated": False, "token_error": why}
    with urllib.request.urlopen(f"http://127.0.0.1:{METRICS_PORT}/metrics", timeout=10) as r:
        scraped = r.read().decode()
    assert f'icap_dlp_identity_total{{source="none",token_error="{why}"}} 1.0' in scraped


@pytest.mark.parametrize("why", ["expired", "bad signature", "wrong audience", "algorithm not allowed", "none"])
def test_required_identity_blocks_bad_or_missing_tokens(servers: dict[bool, tuple[ServerProc, Path]],
                                                        why: str) -> None:
    srv, audit = servers[True]
    h = respmod(srv.port, None if why == "none" else tokens()[why])
    assert h["X-DLP-Decision"] == "block", h
    assert "identity-required" in h["X-DLP-Rules"].split(",")
    rec = record(audit, h["X-DLP-Incident"])
    assert rec["identity"]["authenticated"] is False
    assert rec["identity"]["token_error"] == (None if why == "none" else why)


def test_verified_finance_sees_the_card_and_proxy_headers_do_not_override_a_token(
        servers: dict[bool, tuple[ServerProc, Path]]) -> None:
    srv, audit = servers[True]
    h = respmod(srv.port, KEY.token(sub="fiona", groups=["finance"]), proxy_user="mallory")
    assert h["X-DLP-Decision"] == "allow", h
    assert "4111" not in h.get("X-DLP-Rules", "")
    # without a token the proxy's header identifies the user (trust_proxy_headers: true), but
    # that is not a verified finance identity
    h2 = respmod(srv.port, None, proxy_user="fiona")
    assert h2["X-DLP-Decision"] == "redact"
    rec = record(audit, h2["X-DLP-Incident"])
    assert rec["user"] == "fiona" and rec["identity"]["source"] == "proxy"


def test_a_broken_jwks_file_stops_start_up_with_its_name(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text(policy(False))
    (tmp_path / "jwks.json").write_text("{not json")
    srv = start_server(tmp_path, "--policy", str(tmp_path / "policy.yaml"), wait=False)
    assert srv.proc.wait(60) != 0
    assert "jwks.json" in srv.log()




def test_a_rotated_jwks_file_in_the_policy_folder_is_picked_up(tmp_path: Path) -> None:
    """The IdP rotates its signing key; the new JWKS is dropped into the watched policy folder."""
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "jwks.json").write_text(json.dumps(jwks(KEY)))
    (folder / "policy.yaml").write_text(policy(True))
    srv = start_server(tmp_path, "--policy", str(folder))
    try:
        rotated = SigningKey.new("idp-2027", "ES256")
        token = rotated.token(groups=["contractors"])
        assert "identity-required" in respmod(srv.port, token)["X-DLP-Rules"]  # unknown key yet
        (folder / "jwks.json").write_text(json.dumps(jwks(rotated, KEY)))

        def verified() -> bool:
            rules = respmod(srv.port, token)["X-DLP-Rules"].split(",")
            return "contractors-no-cards" in rules and "identity-required" not in rules

        wait_until(verified)
    finally:
        srv.stop()
