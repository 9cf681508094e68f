"""Detection accuracy: spans, scores and the bugs a foreign test suite found (issue 13).

Detector examples (in the YAML) prove match / no match; these tests prove what the examples
cannot: the exact span, the score a finding gets, and what a shipped policy does with it.
"""

from __future__ import annotations

import json
from functools import cache

import pytest

from icap_dlp.config import load_settings
from icap_dlp.detection import Engine, load_library
from icap_dlp.inspection import Bundle, inspect_message, load_bundle
from icap_dlp.model import Direction, RequestContext

LIB = load_library()
ENGINE = Engine(LIB, sorted(d.id for d in LIB.detectors if d.kind == "regex"))


def spans(text: str) -> list[tuple[str, str]]:
    return [(f.detector_id, text[f.start:f.end]) for f in ENGINE.scan(text)]


@cache
def bundle(policy: str) -> Bundle:
    return load_bundle(load_settings({"policy": policy}, env={}), policy)


def redacted(policy: str, text: str) -> str:
    """The text of an MCP tool result after the policy's inspection (unchanged if allowed)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text": text}]}})
    res = inspect_message(bundle(policy), RequestContext(Direction.RESPMOD, "respmod"), body.encode(),
                          content_type="application/json")
    out = json.loads(res.body) if res.body is not None else json.loads(body)
    return str(out["result"]["content"][0]["text"])


@pytest.mark.parametrize(("text", "value"), [
    ("nat64 64:ff9b::192.0.2.1 route", "64:ff9b::192.0.2.1"),
    ("mapped ::ffff:203.0.113.9 here", "::ffff:203.0.113.9"),
    ("localhost ::1 up", "::1"),
    ("url http://[::1]:8080/", "::1"),
])
def test_ipv6_span_is_the_whole_address(text: str, value: str) -> None:
    assert ("ipv6", value) in spans(text)


def test_ipv4_before_a_sentence_period() -> None:
    assert spans("Hosts 203.0.113.5, 203.0.113.6.") == [("ipv4", "203.0.113.5"), ("ipv4", "203.0.113.6")]


def test_iban_without_the_currency_code_after_it() -> None:
    assert spans("IBAN: BE71 0961 2345 6769 EUR") == [("iban", "BE71 0961 2345 6769")]
    assert spans("PL61109010140000071219812874 PLN") == [("iban", "PL61109010140000071219812874")]


def test_value_followed_by_a_hangul_particle() -> None:
    assert spans("여권번호는 M789C1234입니다") == [("kr-passport", "M789C1234")]


@pytest.mark.parametrize("policy", ["policies/default.yaml", "policies/examples/korean-identifiers.yaml"])
def test_rrn_with_failed_check_digit_needs_context(policy: str) -> None:
    """A failed check digit (UNKNOWN: post-2020 numbers have none) lowers the score below the
    shipped threshold; with a context word it is redacted."""
    assert redacted(policy, "id 111111-1111111 ok") == "id 111111-1111111 ok"
    assert "111111-1111111" not in redacted(policy, "주민등록번호 111111-1111111")
    assert redacted(policy, "1111111111111") == "1111111111111"


@pytest.mark.parametrize("text", ["order 536904399", "Praxisnummer 123456782", "SIN 046 454 286"])
def test_bare_nine_digits_are_not_an_ssn_without_context(text: str) -> None:
    assert redacted("policies/default.yaml", text) == text


def test_ssn_with_spaces_or_dots_after_the_keyword() -> None:
    for text in ("SSN: 536 90 4399", "SSN: 536.90.4399", "ssn 536904399"):
        assert "4399" not in redacted("policies/default.yaml", text), text


def test_internal_host_names_survive_shipped_policies_but_url_credentials_do_not() -> None:
    for policy in ("policies/default.yaml", "policies/examples/strict-pii.yaml"):
        for text in ("redis://cache.internal:6379/5", "jdbc:postgresql://db.internal:5432/app?sslmode=require"):
            assert redacted(policy, text) == text, (policy, text)
        out = redacted(policy, "postgres://app:S3cr3t-Pa55w0rd@db.internal:5432/app")
        assert "S3cr3t-Pa55w0rd" not in out, policy


def _pem(kind: str) -> str:
    """A real certificate, CSR or public key, made by openssl for this test."""
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl not installed")
    with tempfile.TemporaryDirectory() as d:
        key = Path(d) / "k.pem"
        subprocess.run([openssl, "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
        args = {"cert": ["req", "-x509", "-key", str(key), "-days", "1",
                         "-subj", "/CN=Alice Example/O=Example Corp"],
                "csr": ["req", "-new", "-key", str(key), "-subj", "/CN=Bob Example"],
                "pub": ["rsa", "-in", str(key), "-pubout"]}[kind]
        return subprocess.run([openssl, *args], check=True, capture_output=True, text=True).stdout


@pytest.mark.parametrize("policy", ["policies/default.yaml", "policies/examples/strict-pii.yaml",
                                    "policies/examples/korean-identifiers.yaml",
                                    "policies/examples/strict-finance.yaml"])
def test_certificates_public_keys_and_csrs_survive(policy: str) -> None:
    for kind in ("cert", "csr", "pub"):
        for _ in range(3):  # three fresh keys each: NER tagged random base64 lines now and then
            text = _pem(kind)
            assert redacted(policy, "Here is the file:\n" + text) == "Here is the file:\n" + text, (policy, kind)
