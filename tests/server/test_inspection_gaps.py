"""Nothing passes uninspected: every exception inside inspection is a gap the failure policy answers.

Through the real server where a real input can raise (deep JSON in a string, a lone surrogate, a
regex timeout in a policy exception, an oversized SSE event in a compressed stream); in process,
with a fault injected into the detection engine, for every other exception type.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from icap_dlp.adapter import DlpInspector, build_inspector
from icap_dlp.client import IcapClient, encode_head, respmod_heads
from icap_dlp.config import default_policy_path, load_settings
from icap_dlp.errors import InspectionError
from icap_dlp.icap import IcapParser, IcapRequest
from icap_dlp.seam import Replace
from tests.conftest import ServerProc

CARD = "4111 1111 1111 1111"


def rpc(text: str, rpc_id: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rpc_id, "result": {"content": [{"type": "text", "text": text}]}}


def policy_with(tmp_path: Path, failure: str, extra_rule: str = "") -> Path:
    """The default policy with a global failure setting (and optionally one more rule)."""
    text = default_policy_path().read_text()
    text = text.replace("settings:\n  mode: enforce\n", f"settings:\n  mode: enforce\n  failure: {failure}\n")
    text = text.replace("\ntests:\n", f"\n{extra_rule}\ntests:\n") if extra_rule else text
    p = tmp_path / "policy.yaml"
    p.write_text(text)
    return p


def audit_records(audit: Path, srv: ServerProc) -> list[dict[str, Any]]:
    assert srv.stop() == 0  # SIGTERM drains the audit queue
    return [json.loads(line) for f in sorted(audit.parent.glob("audit.w*.jsonl"))
            for line in f.read_text().splitlines()]


@pytest.fixture
def open_on_internal(server_factory: Callable[..., ServerProc], tmp_path: Path) -> Iterator[tuple[ServerProc, Path]]:
    """A server whose policy passes `internal` failures: only a misfiled exception could allow."""
    audit = tmp_path / "audit" / "audit.jsonl"
    srv = server_factory("--policy", str(policy_with(tmp_path, "{internal: open}")), "--audit-file", str(audit))
    yield srv, audit


def test_deep_json_in_a_string_is_inspected_as_text(open_on_internal: tuple[ServerProc, Path]) -> None:
    srv, _ = open_on_internal
    nested = "[" * 100_000 + json.dumps(CARD) + "]" * 100_000  # past the JSON parser's recursion limit
    body = json.dumps(rpc(nested)).encode()
    with IcapClient("127.0.0.1", srv.port) as c:
        r = c.respmod(body)
    assert r.status == 200, r.headers
    assert r.headers.get("X-DLP-Decision") == "redact" and r.headers.get("X-DLP-Failure") is None
    out = json.loads(r.body or b"")
    assert CARD not in out["result"]["content"][0]["text"]
    assert out["result"]["content"][0]["text"].count("[") == 100_000


def test_lone_surrogate_in_a_redacted_string_keeps_the_value(open_on_internal: tuple[ServerProc, Path]) -> None:
    srv, _ = open_on_internal
    body = b'{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"\\ud800 card ' \
        + CARD.encode() + b'"}]}}'
    with IcapClient("127.0.0.1", srv.port) as c:
        r = c.respmod(body)
    assert r.status == 200 and r.headers.get("X-DLP-Decision") == "redact", r.headers
    assert b"\\ud800 card " + b"*" * 15 + b"1111" in (r.body or b"")
    assert json.loads(r.body or b"")["result"]["content"][0]["text"] == "\ud800 card " + "*" * 15 + "1111"


def test_regex_timeout_in_a_policy_exception_is_a_timeout_gap(server_factory: Callable[..., ServerProc],
                                                              tmp_path: Path) -> None:
    rule = ("  - id: slow-exception\n    detect:\n      entity_types: [EMAIL_ADDRESS]\n    action: redact\n"
            "    exceptions:\n      patterns: ['(a|aa)+b']\n")
    audit = tmp_path / "audit" / "audit.jsonl"
    srv = server_factory("--policy", str(policy_with(tmp_path, "{internal: open}", rule)),
                         "--audit-file", str(audit))
    body = json.dumps(rpc("mail " + "a" * 40 + "@example.com")).encode()
    with IcapClient("127.0.0.1", srv.port) as c:
        r = c.respmod(body)
    assert r.status == 200 and r.headers.get("X-DLP-Failure") == "timeout:closed", r.headers
    assert r.http_response is not None and r.http_response.status == 403
    assert b"data-protection policy" in (r.body or b"") and b"example.com" not in (r.body or b"")
    (rec,) = audit_records(audit, srv)
    assert rec["decision"] == "block" and rec["failure"] == "timeout:closed"


def test_buffered_sse_with_an_oversized_event_is_not_answered_allow(
        server_factory: Callable[..., ServerProc], tmp_path: Path) -> None:
    audit = tmp_path / "audit" / "audit.jsonl"
    srv = server_factory("--audit-file", str(audit))
    big = base64.b64encode(os.urandom(800_000)).decode()  # over the 1 MiB event cap, not a "bomb"
    events = (f"event: message\ndata: {json.dumps(rpc('hello'))}\n\n"
              f"event: message\ndata: {json.dumps(rpc(big, 2))}").encode()  # the stream ends mid-event
    body = gzip.compress(events)
    with IcapClient("127.0.0.1", srv.port) as c:
        r = c.respmod(body, content_type="text/event-stream", extra_response_headers={"Content-Encoding": "gzip"})
    assert r.status == 200, r.headers  # not a 204 with the original bytes
    assert r.headers.get("X-DLP-Decision") == "block" and r.headers.get("X-DLP-Failure") == "oversize:closed"
    assert big.encode() not in (r.body or b"")
    (rec,) = audit_records(audit, srv)
    assert rec["failure"] == "oversize:closed"
    assert {"reason": "oversize", "location": "event[1]", "mode": "closed"} in rec["gaps"]


def test_json_nested_past_the_depth_limit_is_a_gap_not_a_skip(server_factory: Callable[..., ServerProc]) -> None:
    srv = server_factory()
    deep: Any = {"v": "nothing here"}
    for _ in range(600):
        deep = {"k": deep}
    body = json.dumps({"jsonrpc": "2.0", "id": 4, "result": {"structuredContent": deep}}).encode()
    with IcapClient("127.0.0.1", srv.port) as c:
        r = c.respmod(body)
    assert r.status == 200 and r.headers.get("X-DLP-Failure") == "oversize:closed", r.headers
    assert json.loads(r.body or b"")["id"] == 4


# -- any exception type, injected into the engine -----------------------------------------------

EXCEPTIONS: list[Exception] = [
    ValueError("x"), KeyError("x"), IndexError("x"), TypeError("x"), AttributeError("x"), AssertionError("x"),
    RecursionError("x"), MemoryError(), UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"),
    UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), TimeoutError(), ZeroDivisionError(),
    OverflowError(), RuntimeError("x"), LookupError("x"), OSError("x"), NotImplementedError(),
    InspectionError("x", "internal"), Exception("x"),
]


def _request(body: bytes, content_type: str, encoding: str | None = None) -> IcapRequest:
    req, res = respmod_heads(body, content_type, extra_response_headers={"Content-Encoding": encoding}
                             if encoding else None)
    p = IcapParser()
    p.feed(encode_head("RESPMOD", "icap://127.0.0.1/respmod", "127.0.0.1", http_request=req, http_response=res,
                       has_body=True))
    ev = p.next_event()
    assert isinstance(ev, IcapRequest)
    return ev


@pytest.fixture(scope="module")
def inspector() -> DlpInspector:
    ins = build_inspector(load_settings({}, env={}))
    assert isinstance(ins, DlpInspector)
    return ins


def _raising(exc: Exception) -> Callable[..., Any]:
    def scan(*a: object, **k: object) -> Any:
        raise exc
    return scan


@pytest.mark.parametrize("exc", EXCEPTIONS, ids=lambda e: type(e).__name__)
def test_no_exception_inside_inspection_is_an_allow(inspector: DlpInspector, exc: Exception,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inspector.bundle.engine, "scan_segments", _raising(exc))
    sse = f"event: message\ndata: {json.dumps(rpc('card ' + CARD))}\n\n".encode()
    body = json.dumps(rpc("card " + CARD)).encode()
    cases: list[tuple[bytes, str, str | None]] = [(body, "application/json", None), (sse, "text/event-stream", "gzip"),
                                                  (body, "text/plain", None)]
    for data, ctype, enc in cases:
        txn = inspector.begin(_request(data, ctype, enc), "127.0.0.1")
        out = txn.decide(gzip.compress(data) if enc else data)
        assert isinstance(out, Replace), (ctype, out)
        hdrs = dict(out.icap_headers)
        assert hdrs["X-DLP-Decision"] == "block" and hdrs["X-DLP-Failure"].endswith(":closed"), (ctype, hdrs)
        assert CARD.encode() not in (out.body or b"")
        txn.finished(200)
    # the streamed SSE path: the event is replaced by an error event, the stream goes on
    txn = inspector.begin(_request(sse, "text/event-stream"), "127.0.0.1")
    stream = txn.stream().body
    sent = stream.feed(sse) + stream.feed(sse[:40]) + stream.finish()  # a last event cut short
    assert CARD.encode() not in sent and sent.count(b'"code":-32001') == 2
    txn.finished(200)
    assert txn.report.failure is not None and txn.report.failure.endswith(":closed")


def test_an_open_failure_policy_is_said_in_headers_and_record(monkeypatch: pytest.MonkeyPatch) -> None:
    inspector = build_inspector(load_settings({"on_error": "open"}, env={}))
    assert isinstance(inspector, DlpInspector)
    monkeypatch.setattr(inspector.bundle.engine, "scan_segments", _raising(KeyError("x")))
    txn = inspector.begin(_request(b"{}", "application/json"), "127.0.0.1")
    out = txn.decide(json.dumps(rpc("hello")).encode())
    assert dict(out.icap_headers)["X-DLP-Failure"] == "internal:open"
    assert txn.report.failure == "internal:open"



def test_a_body_past_the_leaf_cap_is_an_oversize_gap_closed_or_open(server_factory: Callable[..., ServerProc],
                                                                      tmp_path: Path) -> None:
    # Memory per body is bounded by --max-body-leaves, not by how many values a body packs
    # (a 16 MiB export of rows held 2.4 GB); what is not walked is a gap the failure policy answers.
    rows = [{"id": i, "mail": f"u{i}@example.com"} for i in range(700)]  # 2,800 values and keys
    body = json.dumps(rpc(json.dumps(rows))).encode()
    audit = tmp_path / "audit" / "audit.jsonl"
    srv = server_factory("--max-body-leaves", "2000", "--audit-file", str(audit))
    with IcapClient("127.0.0.1", srv.port) as c:
        r = c.respmod(body)
    assert r.headers.get("X-DLP-Failure") == "oversize:closed", r.headers
    assert b"u699@example.com" not in (r.body or b"") and json.loads(r.body or b"")["error"]
    (rec,) = audit_records(audit, srv)
    assert rec["decision"] == "block" and rec["failure"] == "oversize:closed"
    assert [g["reason"] for g in rec["gaps"]] == ["oversize"], rec["gaps"]
    # The same body with the cap above it: inspected whole, every address redacted.
    whole = server_factory("--max-body-leaves", "20000")
    with IcapClient("127.0.0.1", whole.port) as c:
        r = c.respmod(body)
    assert r.headers.get("X-DLP-Decision") == "redact" and r.headers.get("X-DLP-Failure") is None, r.headers
    assert b"@example.com" not in (r.body or b"")
    # Open: the walked part is redacted, the rest passes as it came, and the answer says so.
    opened = server_factory("--max-body-leaves", "2000", "--on-oversize", "open")
    with IcapClient("127.0.0.1", opened.port) as c:
        r = c.respmod(body)
    assert r.headers.get("X-DLP-Failure") == "oversize:open", r.headers
    text = json.loads(r.body or b"")["result"]["content"][0]["text"]
    assert "u0@example.com" not in text and "u699@example.com" in text
    # Far past the cap (over twice it), the JSON inside the string is not parsed: the string is
    # inspected as the text it is, every address in it redacted, and its structure is the gap.
    many = json.dumps(rpc(json.dumps([{"id": i, "mail": f"u{i}@example.com"} for i in range(3_000)]))).encode()
    with IcapClient("127.0.0.1", opened.port) as c:
        r = c.respmod(many)
    assert r.headers.get("X-DLP-Failure") == "oversize:open" and r.headers.get("X-DLP-Decision") == "redact"
    out = json.loads(r.body or b"")["result"]["content"][0]["text"]
    assert "@example.com" not in out and len(json.loads(out)) == 3_000  # still the JSON it was
