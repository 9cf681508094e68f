"""The whole pipeline on real detectors and the embedded default policy, without and with the server."""

from __future__ import annotations

import gzip
import json
import random
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icap_dlp.client import IcapClient
from icap_dlp.config import load_settings
from icap_dlp.inspection import inspect_message, load_bundle
from icap_dlp.model import Action, Direction, RequestContext

BUNDLE = load_bundle(load_settings({}, env={}))
CTX = RequestContext(direction=Direction.RESPMOD, service="respmod")
SECRETS = ["AKIAIOSFODNN7EXAMPLE", "4111 1111 1111 1111", "alice@example.com", "10.20.30.40",
           "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", "DE89 3704 0044 0532 0130 00"]


def result(text: str, rpc_id: object = 1) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": rpc_id,
                       "result": {"content": [{"type": "text", "text": text}]}}).encode()


def test_same_value_gets_the_same_replacement_everywhere() -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 3, "result": {
        "content": [{"type": "text", "text": "key AKIAIOSFODNN7EXAMPLE"}],
        "structuredContent": {"key": "AKIAIOSFODNN7EXAMPLE", "other": "AKIAI44QH8DHBEXAMPLE"}}}).encode()
    r = inspect_message(BUNDLE, CTX, body, content_type="application/json")
    out = json.loads(r.body or b"")
    assert out["result"]["content"][0]["text"] == "key [AWS_ACCESS_KEY_ID]"
    assert out["result"]["structuredContent"]["key"] == "[AWS_ACCESS_KEY_ID]"


def test_gzip_body_is_inspected_and_returned_as_identity() -> None:
    body = gzip.compress(result("mail alice@example.com"))
    r = inspect_message(BUNDLE, CTX, body, content_type="application/json", content_encoding="gzip")
    assert r.decision.action is Action.REDACT
    assert json.loads(r.body or b"")["result"]["content"][0]["text"] == "mail [EMAIL_ADDRESS]"


def test_bulk_cards_block_with_a_jsonrpc_error_for_the_same_id() -> None:
    text = "\n".join(f"row {i} 4111 1111 1111 1111" for i in range(10))
    r = inspect_message(BUNDLE, CTX, result(text, "abc"), content_type="application/json", incident="inc1")
    assert r.decision.action is Action.BLOCK and r.decision.rules[0] == "block-bulk-cards-and-national-ids"
    err = json.loads(r.body or b"")
    assert err == {"jsonrpc": "2.0", "id": "abc", "error": {
        "code": -32001, "message": "Blocked by a data-protection policy (incident inc1)",
        "data": {"incident_id": "inc1", "blocked_by": "icap-dlp"}}}


def test_non_mcp_block_is_a_page_in_the_accepted_format() -> None:
    text = " ".join("4111 1111 1111 1111" for _ in range(10)).encode()
    r = inspect_message(BUNDLE, CTX, text, content_type="text/plain", accept="text/html")
    assert r.decision.action is Action.BLOCK and r.status == 403
    assert r.content_type is not None and r.content_type.startswith("text/html")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="abcdefghij klmnop", max_size=30), min_size=1, max_size=6), st.data())
def test_property_planted_values_never_survive_and_output_parses(words: list[str], data: st.DataObject) -> None:
    rng = random.Random(data.draw(st.integers(0, 10**6)))
    leaves = {f"k{i}": w for i, w in enumerate(words)}
    planted = []
    for k in rng.sample(sorted(leaves), k=min(len(leaves), data.draw(st.integers(0, 3)))):
        secret = rng.choice(SECRETS)
        leaves[k] = f"{leaves[k]} {secret} end"
        planted.append(secret)
    body = json.dumps({"jsonrpc": "2.0", "id": 9, "result": {"structuredContent": leaves}}).encode()
    r = inspect_message(BUNDLE, CTX, body, content_type="application/json")
    if not planted:
        assert r.decision.action is Action.ALLOW and r.body is None
        return
    out = (r.body or b"").decode()
    parsed = json.loads(out)
    assert parsed["id"] == 9
    for s in planted:
        assert s not in out
    for k, v in leaves.items():
        if not any(s in v for s in SECRETS):
            assert parsed["result"]["structuredContent"][k] == v


def test_monitor_mode_passes_but_records(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from icap_dlp.config import default_policy_path

    p = tmp_path / "monitor.yaml"
    p.write_text(default_policy_path().read_text().replace("mode: enforce", "mode: monitor"))
    b = load_bundle(load_settings({"policy": str(p)}, env={}))
    r = inspect_message(b, CTX, result("key AKIAIOSFODNN7EXAMPLE"), content_type="application/json")
    assert r.decision.action is Action.ALLOW and r.decision.intended is Action.REDACT and r.body is None


@pytest.fixture(scope="module")
def dlp(tmp_path_factory):  # type: ignore[no-untyped-def]
    from tests.conftest import start_server

    srv = start_server(tmp_path_factory.mktemp("dlp"), "--workers", "1", "--max-body-bytes", "65536")
    yield srv
    srv.stop()


def test_server_redacts_and_fixes_headers(dlp) -> None:  # type: ignore[no-untyped-def]
    body = gzip.compress(result("card 4111 1111 1111 1111"))
    with IcapClient("127.0.0.1", dlp.port) as c:
        r = c.respmod(body, extra_response_headers={"Content-Encoding": "gzip"})
        assert r.status == 200 and r.headers.get("X-DLP-Decision") == "redact"
        assert r.headers.get("X-DLP-Rules") == "redact-structured-pii"
        assert r.http_response is not None
        assert r.http_response.headers.get("Content-Encoding") is None
        assert r.http_response.headers.get("Content-Length") == str(len(r.body or b""))
        assert json.loads(r.body or b"")["result"]["content"][0]["text"] == "card ***************1111"
        clean = c.respmod(result("nothing here"))
        assert clean.status == 204 and clean.headers.get("X-DLP-Decision") == "allow"


def test_server_gzip_bomb_and_corrupt_gzip_fail_closed(dlp) -> None:  # type: ignore[no-untyped-def]
    import zlib

    c_ = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = b"".join(c_.compress(b"\0" * (1 << 20)) for _ in range(64)) + c_.flush()
    with IcapClient("127.0.0.1", dlp.port) as c:
        r = c.respmod(bomb, extra_response_headers={"Content-Encoding": "gzip"})
        assert r.headers.get("X-DLP-Failure") == "oversize:closed"
        assert json.loads(r.body or b"")["error"] == "blocked"
    with IcapClient("127.0.0.1", dlp.port) as c:
        r = c.respmod(b"\x1f\x8bnot really", extra_response_headers={"Content-Encoding": "gzip"})
        assert r.headers.get("X-DLP-Failure") == "undecodable:closed"
        assert r.http_response is not None and r.http_response.status == 403


def test_server_reqmod_block_answers_the_client_directly(dlp) -> None:  # type: ignore[no-untyped-def]
    text = "\n".join(f"{i} 4111 1111 1111 1111" for i in range(10))
    call = json.dumps({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
                       "params": {"name": "upload", "arguments": {"csv": text}}}).encode()
    with IcapClient("127.0.0.1", dlp.port) as c:
        r = c.reqmod(call)
        assert r.status == 200 and r.http_request is None and r.http_response is not None
        assert json.loads(r.body or b"")["id"] == 5
        ctx = r.headers.get("X-DLP-Context")
        assert ctx and ctx.startswith("v1.")


def test_server_sse_event_split_across_chunks_and_the_preview(dlp) -> None:  # type: ignore[no-untyped-def]
    ev1 = b'data: {"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"key AKIAIOSFODNN7EXAMPLE"}]}}\n\n'
    ev2 = b'data: {"jsonrpc":"2.0","method":"notifications/progress","params":{"p":1}}\n\n'
    stream = ev1 + ev2
    with IcapClient("127.0.0.1", dlp.port) as c:
        r = c.respmod(stream, content_type="text/event-stream", preview=20, allow_204=False, chunk_size=7)
        assert r.status == 200
        out = r.body or b""
        assert b"AKIAIOSFODNN7EXAMPLE" not in out and b"[AWS_ACCESS_KEY_ID]" in out
        assert out.endswith(ev2)


def test_skipped_content_types_are_a_setting(server_factory) -> None:  # type: ignore[no-untyped-def]
    secret = b"key AKIAIOSFODNN7EXAMPLE"
    default = server_factory()
    with IcapClient("127.0.0.1", default.port) as c:
        assert c.respmod(secret, content_type="text/plain").headers.get("X-DLP-Decision") == "redact"
        assert c.respmod(secret, content_type="image/png", request_method="GET", accept="*/*").status == 204
        # a response to an MCP request is inspected whatever its declared type
        assert b"AKIAIOSFODNN7EXAMPLE" not in (c.respmod(secret, content_type="image/png").body or b"")
    custom = server_factory("--skip-content-types", "text/*,image/*")
    with IcapClient("127.0.0.1", custom.port) as c:
        r = c.respmod(secret, content_type="text/plain; charset=utf-8", request_method="GET", accept="*/*")
        assert r.status == 204 and r.headers.get("X-DLP-Decision") == "allow"
        assert c.respmod(secret, content_type="application/json").headers.get("X-DLP-Decision") == "redact"


def test_sse_count_thresholds_apply_to_the_whole_stream() -> None:
    """A dump split into one card per event still trips the 10-card block rule (default policy)."""
    events = b"".join(
        b"event: message\ndata: " + result(f"customer {i} card 4111 1111 1111 1111", rpc_id=i) + b"\n\n"
        for i in range(12))
    r = inspect_message(BUNDLE, CTX, events, content_type="text/event-stream")
    out = [json.loads(line[6:]) for line in (r.body or b"").split(b"\n") if line.startswith(b"data: ")]
    assert len(out) == 12
    assert all(m["result"]["content"][0]["text"].endswith("***************1111") for m in out[:9])
    assert all(m["error"]["code"] == -32001 for m in out[9:])  # the 10th card and every later one
    assert r.decision.action is Action.BLOCK and "block-bulk-cards-and-national-ids" in r.decision.rules


def test_count_thresholds_without_a_stream_stay_per_message() -> None:
    for i in range(12):
        r = inspect_message(BUNDLE, CTX, result(f"card 4111 1111 1111 1111 #{i}"), content_type="application/json")
        assert r.decision.action is Action.REDACT


@pytest.mark.slow
def test_server_ner_over_budget_fails_closed_and_keeps_serving(server_factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A body full of names with a tiny NER budget: the failure policy answers, the worker lives on."""
    pol = tmp_path / "ner.yaml"
    pol.write_text("version: 1\nname: ner-budget\nsettings:\n  ner_timeout: 0.05\nrules:\n"
                   "  - id: redact-people\n    detect: {entity_types: [PERSON]}\n    action: redact\n")
    srv = server_factory("--policy", str(pol))
    names = result("Ticket escalated to Maria Garcia in Lisbon. " * 3000)
    with IcapClient("127.0.0.1", srv.port, timeout=60) as c:
        r = c.respmod(names)
        assert r.headers.get("X-DLP-Failure") == "timeout:closed"
        assert json.loads(r.body or b"")["error"] == "blocked" and b"Maria" not in (r.body or b"")
        ok = c.respmod(result("Ticket escalated to Maria Garcia."))
        assert ok.headers.get("X-DLP-Decision") == "redact"
        assert "Maria Garcia" not in (ok.body or b"").decode()


def _on_inspection_thread(port: int, mport: int, label: str, body: bytes, **kw: object
                          ) -> tuple[threading.Thread, dict[str, float], dict[str, object]]:
    """Send ``body`` (a RESPMOD, ``kw`` to ``IcapClient.respmod``) from a thread and return once the
    server's inspection thread is busy with it (queue depth 1 on the metrics port ``mport``): (the
    thread, ``done[label]`` = when its answer came, ``answers[label]`` = the answer)."""
    from tests.conftest import wait_until
    from tests.metrics.test_metrics import get, samples

    done: dict[str, float] = {}
    answers: dict[str, object] = {}

    def send() -> None:
        with IcapClient("127.0.0.1", port, timeout=300) as c:
            r = c.respmod(body, **kw)  # type: ignore[arg-type]
            done[label] = time.monotonic()
            answers[label] = r

    th = threading.Thread(target=send)
    th.start()

    def running() -> bool:
        assert label not in done, f"{label}: answered before its inspection was seen running"
        return sum(samples(get(mport, "/metrics")[1].decode(), "icap_dlp_inspection_queue_depth").values()) == 1

    wait_until(running, 60, 0.02, detail=lambda: f"{label}: never reached the inspection thread")
    return th, done, answers


@pytest.mark.slow
def test_server_keeps_answering_while_ner_runs(server_factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """NER runs on the worker's inspection thread: while one long NER request is in flight, the
    same (single) worker still answers OPTIONS and a RESPMOD it can skip on headers alone. On the
    event loop they would queue behind it."""
    pol = tmp_path / "ner.yaml"
    pol.write_text("version: 1\nname: ner-slow\nsettings:\n  ner_timeout: 60\nrules:\n"
                   "  - id: redact-people\n    detect: {entity_types: [PERSON]}\n    action: redact\n")
    from tests.conftest import free_port
    from tests.metrics.test_metrics import get, samples

    mport = free_port()
    srv = server_factory("--policy", str(pol), "--max-body-bytes", str(8 << 20), "--metrics-port", str(mport))
    names = result("Ticket escalated to Maria Garcia in Lisbon. " * 4000)
    th, done, answers = _on_inspection_thread(srv.port, mport, "ner", names)
    with IcapClient("127.0.0.1", srv.port, timeout=120) as c:
        opt = c.options("respmod")
        skip = c.respmod(b"\x89PNG" + bytes(1000), content_type="image/png", request_method="GET", accept="*/*")
        done["others"] = time.monotonic()
        _, scraped = get(mport, "/metrics")
    th.join(120)
    assert opt.status == 200 and skip.status == 204
    assert "ner" in done and done["others"] < done["ner"], "OPTIONS waited for NER to finish"
    assert sum(samples(scraped.decode(), "icap_dlp_inspection_queue_depth").values()) == 1
    _, after = get(mport, "/metrics")
    assert sum(samples(after.decode(), "icap_dlp_inspection_queue_depth").values()) == 0
    r = answers["ner"]
    assert r.headers.get("X-DLP-Decision") == "redact"  # type: ignore[attr-defined]
    assert b"Maria Garcia" not in (r.body or b"")  # type: ignore[attr-defined]
    # A streamed SSE body takes the same thread, event by event, in order.
    events = b"".join(b"data: " + result(f"Ticket {i} escalated to Maria Garcia in Lisbon.", rpc_id=i) + b"\n\n"
                      for i in range(3))
    with IcapClient("127.0.0.1", srv.port, timeout=60) as c:
        sse = c.respmod(events, content_type="text/event-stream", allow_204=False, chunk_size=7)
    out = [json.loads(line[6:]) for line in (sse.body or b"").split(b"\n") if line.startswith(b"data: ")]
    assert [m["id"] for m in out] == [0, 1, 2]
    assert all("Maria Garcia" not in m["result"]["content"][0]["text"] for m in out)


@pytest.mark.slow
def test_a_large_body_is_inspected_beside_the_loop_which_keeps_inspecting_small_ones(server_factory) -> None:  # type: ignore[no-untyped-def]
    """A body of at least ``--offload-body-bytes`` is inspected on the worker's inspection thread
    (regex-only policy: no NER involved): while seconds of dense values (a log of 15-digit numbers,
    a card-number look-alike each) are scanned there, the same single worker inspects and redacts
    a small RESPMOD on the event loop, with the regex engine busy in both threads at once. On the
    loop, the small request would wait behind the large one."""
    from tests.conftest import free_port
    from tests.metrics.test_metrics import get, samples

    mport = free_port()
    srv = server_factory("--workers", "1", "--metrics-port", str(mport), "--offload-body-bytes", str(64 << 10))
    rng = random.Random(7)
    big = result(" ".join(str(rng.randrange(10**14, 10**15)) for _ in range(120_000)))  # about 1.8 MiB
    th, done, answers = _on_inspection_thread(srv.port, mport, "large", big)
    small: list[object] = []
    with IcapClient("127.0.0.1", srv.port, timeout=120) as c:
        for i in range(5):
            small.append(c.respmod(result(f"ticket {i}: contact alice{i}@example.com, key AKIAIOSFODNN7EXAMPLE")))
        done["small"] = time.monotonic()
        _, scraped = get(mport, "/metrics")
    th.join(300)
    assert "large" in done and done["small"] < done["large"], "the small requests waited for the large one"
    assert sum(samples(scraped.decode(), "icap_dlp_inspection_queue_depth").values()) == 1
    for i, r in enumerate(small):
        assert r.headers.get("X-DLP-Decision") == "redact"  # type: ignore[attr-defined]
        body = (r.body or b"").decode()  # type: ignore[attr-defined]
        assert f"alice{i}@example.com" not in body and "AKIAIOSFODNN7EXAMPLE" not in body
    r = answers["large"]
    assert r.headers.get("X-DLP-Decision") == "block"  # type: ignore[attr-defined]



def _many_number_items(n: int) -> bytes:
    """``n`` content items of twelve 15-digit numbers each: card look-alikes in every batch of
    small segments, so detection takes about a millisecond per item, yet no pattern comes near
    its own one-second budget on any single batch."""
    rng = random.Random(3)
    items = [{"type": "text", "text": " ".join(str(rng.randrange(10**14, 10**15)) for _ in range(12))}
             for _ in range(n)]
    return json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"content": items}}).encode()


def test_a_message_has_one_detection_budget_across_its_texts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``settings.inspection_timeout`` bounds the detection of a whole message, whose batches each
    have their own per-pattern budget: past it, inspection fails with reason ``timeout`` (the
    failure policy answers), while the same body within the default budget is inspected."""
    from icap_dlp.errors import InspectionError

    body = _many_number_items(1500)  # about 1.5 s of detection here
    done = inspect_message(BUNDLE, CTX, body, content_type="application/json")
    assert done.decision.action is Action.BLOCK  # card numbers, found: inspected to the end
    from icap_dlp.config import default_policy_path

    p = tmp_path / "tight.yaml"  # the default policy with a tight budget
    p.write_text(default_policy_path().read_text().replace("\nsettings:\n", "\nsettings:\n  inspection_timeout: 0.3\n"))
    tight = load_bundle(load_settings({"policy": str(p)}, env={}))
    with pytest.raises(InspectionError) as err:
        inspect_message(tight, CTX, body, content_type="application/json")
    assert err.value.reason == "timeout" and "0.3 s budget" in str(err.value)
    # the budget ended with the message: the next one on this thread is inspected again
    small = inspect_message(tight, CTX, result("card 4111 1111 1111 1111"), content_type="application/json")
    assert small.decision.action is Action.REDACT  # one card: masked (the default policy)


@pytest.mark.slow
def test_a_large_sse_event_is_inspected_beside_the_loop(server_factory) -> None:  # type: ignore[no-untyped-def]
    """A streamed event stream whose one event is large (0.9 MiB of card look-alikes, under the
    1 MiB event limit): the step that completes it runs on the inspection thread, and the same
    single worker inspects a small RESPMOD meanwhile. On the loop, it would wait for the event."""
    from tests.conftest import free_port
    from tests.metrics.test_metrics import get, samples

    mport = free_port()
    srv = server_factory("--workers", "1", "--metrics-port", str(mport), "--offload-body-bytes", str(64 << 10))
    rng = random.Random(8)
    numbers = [str(rng.randrange(10**14, 10**15)) for _ in range(60_000)]
    event = b"data: " + result(" ".join(numbers)) + b"\n\n"
    th, done, answers = _on_inspection_thread(srv.port, mport, "sse", event, content_type="text/event-stream",
                                              allow_204=False)
    with IcapClient("127.0.0.1", srv.port, timeout=120) as c:
        small = c.respmod(result("contact alice@example.com"))
        done["small"] = time.monotonic()
        _, scraped = get(mport, "/metrics")
    th.join(300)
    assert "sse" in done and done["small"] < done["sse"], "the small request waited for the event"
    assert sum(samples(scraped.decode(), "icap_dlp_inspection_queue_depth").values()) == 1
    assert small.headers.get("X-DLP-Decision") == "redact" and b"alice@example.com" not in (small.body or b"")
    out = (answers["sse"].body or b"").decode()  # type: ignore[attr-defined]
    assert out.startswith(("data: ", "event: ")) and not any(n in out for n in numbers[:50])


def test_streams_report_the_bytes_they_hold_for_the_next_step() -> None:
    """What the server reads to decide whether a stream's next step runs off the event loop."""
    from icap_dlp.inspection import SniffStream, SseInspector

    sse = SseInspector(BUNDLE, CTX, "incident", None)
    assert sse.pending == 0
    assert sse.feed(b'data: {"jsonrpc":"2.0",') == b""
    assert sse.pending == len(b'data: {"jsonrpc":"2.0",')
    assert sse.feed(b'"id":1,"result":{}}\n\n').startswith(b"data: ")
    assert sse.pending == 0
    held = SniffStream(BUNDLE, CTX, "incident", None, max_bytes=1 << 20)
    held.feed(b'{"text": "' + b"a" * 2000)  # JSON by its first bytes: held whole until the end
    assert held.pending == 2010
    held.feed(b'"}')
    assert held.pending == 2012
    assert held.finish() == b'{"text": "' + b"a" * 2000 + b'"}' and held.pending == 0
