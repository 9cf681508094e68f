"""HMAC key rotation: a key file with several keys, newest first; the newest signs and keys the
hashes, all verify X-DLP-Context; SIGHUP re-reads the file; audit records name the key id."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from icap_dlp.client import IcapClient, respmod_heads
from icap_dlp.context import decode_context, encode_context
from icap_dlp.errors import ConfigError
from icap_dlp.keys import KeyRing, derived_id, parse_key_file
from icap_dlp.redaction import fingerprint
from tests.conftest import ServerProc, wait_until

OLD = b"old-key-0123456789abcdef"
NEW = b"new-key-fedcba9876543210"
CARD = "4111 1111 1111 1111"


def test_key_file_format() -> None:
    ring = parse_key_file(b"# rotated 2026-11-26\n2026-11:" + NEW + b"\n\n" + OLD + b"\n")
    assert [k.id for k in ring.keys] == ["2026-11", derived_id(OLD)]
    assert ring.signing.secret == NEW and ring.secrets == (NEW, OLD)
    assert derived_id(OLD).startswith("k-") and OLD.decode() not in repr(ring)
    with pytest.raises(ConfigError) as short:
        parse_key_file(NEW + b"\nshort\n", "/run/secrets/hmac")
    assert short.value.line == 2 and short.value.file == "/run/secrets/hmac"
    with pytest.raises(ConfigError, match="twice"):
        parse_key_file(b"a:" + NEW + b"\na:" + OLD + b"\n")
    with pytest.raises(ConfigError, match="no key"):
        parse_key_file(b"# nothing\n\n")


def test_every_key_of_the_ring_verifies_only_the_newest_signs() -> None:
    data = {"t": "hr_lookup", "m": "tools/call"}
    by_old = encode_context(data, OLD)
    by_new = encode_context(data, NEW)
    ring = KeyRing(parse_key_file(NEW + b"\n" + OLD).keys)
    assert decode_context(by_old, ring.secrets) == data
    assert decode_context(by_new, ring.secrets) == data
    assert decode_context(by_old, (NEW,)) == {}  # once the old key is gone it no longer verifies
    assert decode_context(by_new, NEW) == data


def _sig_ok(value: str, key: bytes) -> bool:
    _, payload, sig = value.split(".")
    return hmac.compare_digest(hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()[:32], sig)


def _records(audit: Path) -> list[dict[str, object]]:
    out = []
    for f in sorted(audit.parent.glob("audit*.jsonl")):
        out += [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    return out


def _tool_call() -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                       "params": {"name": "hr_lookup", "arguments": {"q": "x"}}}).encode()


def _respmod_with_context(port: int, ctx: str) -> dict[str, object]:
    body = json.dumps({"jsonrpc": "2.0", "id": 3, "result": {"content": [
        {"type": "text", "text": f"card {CARD}"}]}}).encode()
    req, res = respmod_heads(body)
    with IcapClient("127.0.0.1", port) as c:
        r = c.request("RESPMOD", "respmod", http_request=req, http_response=res, body=body,
                      headers={"X-DLP-Context": ctx})
        assert r.headers.get("X-DLP-Decision") == "redact"
        return {"incident": r.headers.get("X-DLP-Incident")}


def test_rotation_through_the_server_with_sighup(server_factory: Callable[..., ServerProc], tmp_path: Path) -> None:
    keyfile = tmp_path / "hmac.keys"
    keyfile.write_bytes(b"k1:" + OLD + b"\n")
    audit = tmp_path / "audit" / "audit.jsonl"
    srv = server_factory("--audit-file", str(audit), env={"ICAP_DLP_HMAC_KEY_FILE": str(keyfile),
                                                          "ICAP_DLP_HMAC_KEY": ""})
    with IcapClient("127.0.0.1", srv.port) as c:
        old_ctx = c.reqmod(_tool_call()).headers.get("X-DLP-Context")
    assert old_ctx and _sig_ok(old_ctx, OLD)

    # step 1 of a rotation: the new key in front, the old one kept for verification
    keyfile.write_bytes(b"k2:" + NEW + b"\nk1:" + OLD + b"\n")
    srv.signal(signal.SIGHUP)

    def signs_with_new() -> bool:
        with IcapClient("127.0.0.1", srv.port) as c:
            v = c.reqmod(_tool_call()).headers.get("X-DLP-Context")
        return bool(v) and _sig_ok(str(v), NEW)

    wait_until(signs_with_new)
    # an instance that has not rotated yet still signs with k1: its context is accepted
    inc = _respmod_with_context(srv.port, old_ctx)["incident"]
    wait_until(lambda: any(r.get("incident_id") == inc for r in _records(audit)))
    rec = next(r for r in _records(audit) if r.get("incident_id") == inc)
    assert rec["key_id"] == "k2"
    assert rec["mcp"]["tool"] == "hr_lookup"  # type: ignore[index]
    fps = rec["findings"][0]["fingerprints"]  # type: ignore[index]
    assert fps == [fingerprint(CARD, NEW)]  # keyed with the newest key, not k1

    # step 2, once every instance signs with k2: drop k1; its signatures stop verifying
    keyfile.write_bytes(b"k2:" + NEW + b"\n")
    srv.signal(signal.SIGHUP)
    wait_until(lambda: srv.log().count('"msg": "reloaded"') >= 2)
    inc2 = _respmod_with_context(srv.port, old_ctx)["incident"]
    wait_until(lambda: any(r.get("incident_id") == inc2 for r in _records(audit)))
    rec2 = next(r for r in _records(audit) if r.get("incident_id") == inc2)
    assert rec2["mcp"] is None or rec2["mcp"]["tool"] != "hr_lookup"  # type: ignore[index]


def test_a_broken_key_file_on_sighup_keeps_the_running_keys(server_factory: Callable[..., ServerProc],
                                                             tmp_path: Path) -> None:
    keyfile = tmp_path / "hmac.keys"
    keyfile.write_bytes(OLD + b"\n")
    srv = server_factory(env={"ICAP_DLP_HMAC_KEY_FILE": str(keyfile)})
    keyfile.write_bytes(b"too-short\n")
    srv.signal(signal.SIGHUP)
    wait_until(lambda: "reload rejected" in srv.log())
    with IcapClient("127.0.0.1", srv.port) as c:
        v = c.reqmod(_tool_call()).headers.get("X-DLP-Context")
    assert v and _sig_ok(v, OLD)


def test_a_secret_volume_swap_of_the_key_file_reloads_without_sighup(server_factory: Callable[..., ServerProc],
                                                                      tmp_path: Path) -> None:
    """Kubernetes Secret: keys -> ..data/keys; an update renames a new ..data link over the old."""
    vol = tmp_path / "hmac"
    vol.mkdir()

    def publish(text: bytes, stamp: str) -> None:
        (vol / stamp).mkdir()
        (vol / stamp / "keys").write_bytes(text)
        os.symlink(stamp, vol / "..data_tmp")
        os.replace(vol / "..data_tmp", vol / "..data")

    publish(OLD + b"\n", "..v1")
    os.symlink("..data/keys", vol / "keys")
    srv = server_factory(env={"ICAP_DLP_HMAC_KEY_FILE": str(vol / "keys")})
    publish(NEW + b"\n" + OLD + b"\n", "..v2")

    def signs_with_new() -> bool:
        with IcapClient("127.0.0.1", srv.port) as c:
            v = c.reqmod(_tool_call()).headers.get("X-DLP-Context")
        return bool(v) and _sig_ok(str(v), NEW)

    wait_until(signs_with_new)
