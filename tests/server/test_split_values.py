"""Values split in two, through the real server and its audit file (issue 12, item 6)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from icap_dlp.client import IcapClient
from icap_dlp.config import default_policy_path
from tests.conftest import ServerProc
from tests.server.test_inspection_gaps import audit_records

AWS = "AKIAIOSFODNN7EXAMPLE"


def items(*texts: str) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": 4,
                       "result": {"content": [{"type": "text", "text": t} for t in texts]}}).encode()


def event(data: str) -> bytes:
    msg: dict[str, Any] = {"jsonrpc": "2.0", "method": "notifications/message", "params": {"data": data}}
    return f"event: message\ndata: {json.dumps(msg)}\n\n".encode()


def event_data(stream: bytes) -> list[str]:
    return [json.loads(ev.split("data: ", 1)[1])["params"]["data"]
            for ev in stream.decode().split("\n\n") if ev.strip()]


def test_card_split_across_content_items(server_factory: Callable[..., ServerProc], tmp_path: Path) -> None:
    audit = tmp_path / "audit" / "audit.jsonl"
    srv = server_factory("--audit-file", str(audit))
    with IcapClient("127.0.0.1", srv.port) as c:
        r = c.respmod(items("Card: 4111 1111", "1111 1111 thanks"))
    assert r.status == 200 and r.headers.get("X-DLP-Decision") == "redact", r.headers
    out = json.loads(r.body or b"")
    assert out["jsonrpc"] == "2.0" and out["id"] == 4  # still the same JSON-RPC message
    assert [c["text"] for c in out["result"]["content"]] == ["Card: *********", "*****1111 thanks"]
    (rec,) = audit_records(audit, srv)
    assert rec["splits"] == [{"kind": "split_across_items", "detector": "credit-card",
                              "location": "$.result.content[1].text"}]
    (card,) = rec["findings"]
    assert card["detector"] == "credit-card" and card["count"] == 1
    # nothing of the card in the record, once its random hex (incident id, key id, keyed-hash
    # fingerprints) is taken out: one of those holds "4111" now and then
    dumped = json.dumps(rec)
    for value in (rec["incident_id"], rec.get("key_id"), *(fp for f in rec["findings"] for fp in f["fingerprints"])):
        if isinstance(value, str) and value:
            dumped = dumped.replace(value, "")
    assert "4111" not in dumped


def test_key_split_across_streamed_sse_events(server_factory: Callable[..., ServerProc], tmp_path: Path) -> None:
    audit = tmp_path / "audit" / "audit.jsonl"
    srv = server_factory("--audit-file", str(audit))
    stream = event(f"key {AWS[:9]}") + event(f"{AWS[9:]} rotated")
    with IcapClient("127.0.0.1", srv.port) as c:
        r = c.respmod(stream, content_type="text/event-stream")
    assert r.status == 200, r.headers
    # streamed: the first event left before the second arrived; the piece still in hand is redacted
    assert event_data(r.body or b"") == [f"key {AWS[:9]}", "[AWS_ACCESS_KEY_ID] rotated"]
    (rec,) = audit_records(audit, srv)
    assert rec["decision"] == "redact"
    assert rec["splits"] == [{"kind": "split_across_events", "detector": "aws-access-key-id",
                              "location": "event[1]:$.params.data"}]


def test_sse_holdback_redacts_both_halves_of_a_streamed_key(server_factory: Callable[..., ServerProc],
                                                            tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(default_policy_path().read_text().replace(
        "settings:\n  mode: enforce\n", "settings:\n  mode: enforce\n  sse_holdback: 1\n"))
    srv = server_factory("--policy", str(policy))
    stream = event("hello") + event(f"key {AWS[:9]}") + event(f"{AWS[9:]} rotated") + event("bye")
    with IcapClient("127.0.0.1", srv.port) as c:
        r = c.respmod(stream, content_type="text/event-stream")
    assert r.status == 200, r.headers
    assert event_data(r.body or b"") == ["hello", "key ", "[AWS_ACCESS_KEY_ID] rotated", "bye"]
