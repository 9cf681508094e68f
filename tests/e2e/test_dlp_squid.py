"""DLP decisions end to end: curl -> Squid 5.7 -> icap-dlp (a test policy) -> origin."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ServerProc, start_server
from tests.e2e.conftest import SSE_EVENTS, Origin, Squid, curl, start_squid

pytestmark = pytest.mark.e2e

POLICY = """
version: 1
name: e2e
rules:
  - id: block-bulk-cards
    detect: {entity_types: [CREDIT_CARD], min_count: 10}
    action: block
  - id: redact-secrets
    detect: {categories: [credential, financial, pii]}
    action: redact
  - id: block-email-from-hr-tool
    description: the HR lookup tool must never hand an email address to the model
    when: {direction: respmod, tool: [hr_lookup]}
    detect: {detectors: [email]}
    action: block
  - id: bob-may-not-see-ips
    when: {user: [bob]}
    detect: {detectors: [ipv4]}
    action: block
"""


@pytest.fixture(scope="module")
def dlp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    d = tmp_path_factory.mktemp("dlp-e2e")
    (d / "policy.yaml").write_text(POLICY)
    srv = start_server(d, "--workers", "2", "--policy", str(d / "policy.yaml"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def dsquid(dlp_server: ServerProc) -> Iterator[Squid]:
    s = start_squid(dlp_server.port, auth=True)
    yield s
    s.stop()


ALICE = "alice:pw"


def test_mcp_response_with_card_and_aws_key_is_redacted_and_still_parses(dsquid: Squid, origin: Origin) -> None:
    r = curl(dsquid.proxy, origin.url("mcp.json"), user=ALICE)
    assert r.code == 200
    msg = json.loads(r.body)
    assert msg["jsonrpc"] == "2.0" and msg["id"] == 42
    text = msg["result"]["content"][0]["text"]
    assert "4111 1111 1111 1111" not in text and "AKIAIOSFODNN7EXAMPLE" not in text
    assert text == "card [CREDIT_CARD] and key [AWS_ACCESS_KEY_ID] for the deploy bot"
    assert int(r.headers.lower().split("content-length:")[1].split()[0]) == len(r.body)
    assert "dlp=redact" in dsquid.log("access.log")


def test_bulk_dump_is_blocked_with_a_jsonrpc_error_for_the_same_id(dsquid: Squid, origin: Origin) -> None:
    r = curl(dsquid.proxy, origin.url("dump.json"), user=ALICE)
    assert r.code == 200
    msg = json.loads(r.body)
    assert msg["id"] == 11 and msg["error"]["code"] == -32001
    assert "data-protection policy" in msg["error"]["message"]
    # nothing of the cards, once the random incident id (it holds "4111" now and then) is taken out
    assert "4111" not in r.body.decode().replace(msg["error"]["data"]["incident_id"], "")


def test_tool_call_arguments_are_redacted_before_the_origin(dsquid: Squid, origin: Origin) -> None:
    origin.handler.posted.clear()
    body = {"jsonrpc": "2.0", "id": 5, "method": "tools/call",
            "params": {"name": "notes", "arguments": {"text": "my key AKIAIOSFODNN7EXAMPLE"}}}
    r = curl(dsquid.proxy, origin.url("echo"), data=json.dumps(body).encode(), user=ALICE)
    assert r.code == 200
    sent = json.loads(origin.handler.posted[-1])
    assert sent["params"]["arguments"]["text"] == "my key [AWS_ACCESS_KEY_ID]"
    assert sent["id"] == 5 and sent["params"]["name"] == "notes"


def test_per_tool_rule_uses_the_reqmod_context_carried_by_squid(dsquid: Squid, origin: Origin) -> None:
    def call(tool: str) -> dict:
        req = {"jsonrpc": "2.0", "id": 77, "method": "tools/call", "params": {"name": tool, "arguments": {}}}
        r = curl(dsquid.proxy, origin.url("mcp"), data=json.dumps(req).encode(), user=ALICE)
        assert r.code == 200
        return json.loads(r.body)

    other = call("calendar")
    assert other["result"]["content"][0]["text"] == "HR contact: [EMAIL_ADDRESS]"
    hr = call("hr_lookup")
    assert hr["id"] == 77 and "error" in hr, dsquid.log("access.log")[-3000:]
    assert hr["error"]["code"] == -32001
    assert "block-email-from-hr-tool" in dsquid.log("access.log")


def test_per_user_rule(dsquid: Squid, origin: Origin) -> None:
    a = curl(dsquid.proxy, origin.url("ip.json"), user=ALICE)
    assert json.loads(a.body)["result"]["content"][0]["text"] == "client 203.0.113.7 connected"
    b = curl(dsquid.proxy, origin.url("ip.json"), user="bob:pw")
    assert json.loads(b.body)["error"]["code"] == -32001


def test_sse_events_are_redacted_and_keep_flowing(dsquid: Squid, origin: Origin) -> None:
    origin.handler.sse_sent.clear()
    cmd = ["curl", "-sN", "-x", dsquid.proxy, "--proxy-user", ALICE, origin.url("sse")]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        got_first = time.monotonic()
        rest = proc.stdout.read()
        proc.wait(30)
    assert got_first < origin.handler.sse_sent[1]
    data = first + rest
    assert b"AKIAIOSFODNN7EXAMPLE" not in data
    events = [e for e in data.split(b"\n\n") if e.strip()]
    assert len(events) == len(SSE_EVENTS)
    for ev in events:
        payload = b"\n".join(ln[6:] for ln in ev.split(b"\n") if ln.startswith(b"data: "))
        json.loads(payload)
    assert b"[AWS_ACCESS_KEY_ID]" in events[1]


def test_large_json_through_the_dlp_service(dsquid: Squid, origin: Origin, tmp_path: Path) -> None:
    for size in (1 << 20, 10 << 20):
        r = curl(dsquid.proxy, origin.url(f"size-{size}.json"), user=ALICE, timeout=60)
        assert r.code == 200 and len(r.body) == size
        print(f"\nDLP through Squid: {size} bytes inspected in {r.seconds:.3f} s")
