"""Values split in two (issue 12, item 6): across adjacent content[] text items and SSE events.

In process, on the real detectors and the embedded default policy; the same through the server
is in tests/server/test_split_values.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from icap_dlp.config import default_policy_path, load_settings
from icap_dlp.inspection import Bundle, MessageResult, inspect_message, load_bundle
from icap_dlp.model import Action, Direction, RequestContext
from icap_dlp.split import WINDOW, Piece, Split, pieces_text
from tests.detection.test_validators import luhn_complete

BUNDLE = load_bundle(load_settings({}, env={}))
CTX = RequestContext(direction=Direction.RESPMOD, service="respmod")
AWS = "AKIAIOSFODNN7EXAMPLE"


def items(*texts: str) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": 1,
                       "result": {"content": [{"type": "text", "text": t} for t in texts]}}).encode()


def texts_of(r: MessageResult) -> list[str]:
    return [c["text"] for c in json.loads(r.body or b"")["result"]["content"]]


def default_policy_with(tmp_path: Path, old: str, new: str) -> Bundle:
    """The embedded default policy with one change."""
    text = default_policy_path().read_text()
    assert old in text
    (tmp_path / "p.yaml").write_text(text.replace(old, new))
    return load_bundle(load_settings({"policy": str(tmp_path / "p.yaml")}, env={}))


def inspect(body: bytes, bundle: Bundle = BUNDLE, content_type: str = "application/json") -> MessageResult:
    return inspect_message(bundle, CTX, body, content_type=content_type)


def event(data: str, *, rpc_id: int | None = None) -> bytes:
    msg: dict[str, Any] = {"jsonrpc": "2.0", "method": "notifications/message",
                           "params": {"level": "info", "data": data}}
    if rpc_id is not None:
        msg = {"jsonrpc": "2.0", "id": rpc_id, "result": {"content": [{"type": "text", "text": data}]}}
    return f"event: message\ndata: {json.dumps(msg)}\n\n".encode()


def event_data(stream: bytes) -> list[str]:
    out = []
    for ev in stream.decode().split("\n\n"):
        if ev.strip():
            out.append(json.loads(ev.split("data: ", 1)[1])["params"]["data"])
    return out


# -- content items ---------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["4", "51", "55", "6011"]), st.integers(0, 2), st.data())
def test_a_grouped_card_cut_at_any_separator_is_found_and_masked_in_both_items(
        prefix: str, cut: int, data: st.DataObject) -> None:
    body = prefix + "".join(data.draw(st.lists(st.sampled_from("0123456789"), min_size=15 - len(prefix),
                                                max_size=15 - len(prefix))))
    card = luhn_complete(body)
    groups = [card[i:i + 4] for i in range(0, 16, 4)]
    left, right = " ".join(groups[:cut + 1]), " ".join(groups[cut + 1:])
    r = inspect(items(f"Card: {left}", f"{right} thanks"))
    assert r.decision.action is Action.REDACT, (left, right)
    a, b = texts_of(r)
    assert a == "Card: " + "*" * len(left)
    assert b == "*" * (len(right) - 4) + right[-4:] + " thanks"
    assert [(sp.kind, sp.finding.detector_id) for sp in r.splits] == [("split_across_items", "credit-card")]
    # the policy counts the value once, on its first piece
    assert sum(f.detector_id == "credit-card" for fs in r.findings for f in fs) == 1


@settings(max_examples=300, deadline=None)
@given(st.integers(10_000, 9_999_999_999), st.integers(10_000, 9_999_999_999),
       st.sampled_from(["", "#", "ORD-", "PO ", "order "]), st.sampled_from(["", " shipped", ", qty 2"]))
def test_two_adjacent_order_numbers_never_become_a_card(a: int, b: int, prefix: str, suffix: str) -> None:
    """Whatever their digits (a Luhn checksum passes one pair in ten), two ids in two items stay ids."""
    r = inspect(items(f"{prefix}{a}", f"{b}{suffix}"))
    assert r.splits == []
    assert not any(f.entity_type == "CREDIT_CARD" for fs in r.findings for f in fs)
    assert r.body is None


def test_an_unseparated_card_cut_in_two_items_is_not_joined() -> None:
    """The documented limit: ``41111111`` + ``11111111`` is two 8-digit numbers to anyone."""
    r = inspect(items("4111111111111111"[:8], "4111111111111111"[8:]))
    assert r.decision.action is Action.ALLOW and r.splits == []


def test_the_join_of_a_long_item_scans_only_its_end() -> None:
    left = "log line with ids 0x1f2e3d " * 40 + "card 4111 1111"
    assert len(left) > WINDOW
    r = inspect(items(left, "1111 1111 ok"))
    a, b = texts_of(r)
    assert a == left[:-len("4111 1111")] + "*" * 9 and b == "*****1111 ok"


def test_a_non_text_item_between_breaks_adjacency() -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"content": [
        {"type": "text", "text": "Card: 4111 1111"},
        {"type": "image", "data": "iVBORw0KGgo=", "mimeType": "image/png"},
        {"type": "text", "text": "1111 1111"}]}}).encode()
    assert inspect(body).splits == []


def test_a_finding_inside_one_item_is_not_reported_again_across_the_join() -> None:
    r = inspect(items("Card: 4111 1111 1111 1111", "1234 5678 thanks"))
    assert r.splits == []
    assert texts_of(r) == ["Card: " + "*" * 15 + "1111", "1234 5678 thanks"]


def test_a_tag_operator_puts_the_whole_replacement_on_the_first_piece(tmp_path: Path) -> None:
    bundle = default_policy_with(tmp_path, "CREDIT_CARD: {operator: mask, keep_last: 4}",
                                 "CREDIT_CARD: {operator: tag}")
    r = inspect(items("Card: 4111 1111", "1111 1111 thanks"), bundle)
    assert texts_of(r) == ["Card: [CREDIT_CARD]", " thanks"]


def test_pieces_text() -> None:
    f = BUNDLE.engine.scan("4111 1111 1111 1111")[0]
    sp = Split(f, "4111 1111 1111 1111", (Piece("a", 6, 15, 0), Piece("b", 0, 9, 10)), "split_across_items")
    assert pieces_text(sp, "*" * 15 + "1111") == ["*" * 9, "*****1111"]
    assert pieces_text(sp, "[CREDIT_CARD]") == ["[CREDIT_CARD]", ""]
    held = Split(f, "x", (Piece("a", 0, 1, 0, previous=True), Piece("a", 0, 1, 1)), "split_across_events")
    assert pieces_text(held, "[T]") == ["", "[T]"]


# -- SSE events ------------------------------------------------------------------------------

@settings(max_examples=19, deadline=None)
@given(st.integers(1, len(AWS) - 1))
def test_a_key_cut_at_any_point_between_two_events_is_caught_in_the_second(cut: int) -> None:
    stream = event(f"key {AWS[:cut]}") + event(f"{AWS[cut:]} done")
    r = inspect(stream, content_type="text/event-stream")
    first, second = event_data(r.body or b"")
    assert first == f"key {AWS[:cut]}"  # already sent when the second arrives (no hold-back)
    assert second == "[AWS_ACCESS_KEY_ID] done"
    assert [(sp.kind, sp.finding.detector_id) for p in r.parts for sp in p.splits] == [
        ("split_across_events", "aws-access-key-id")]


def test_a_value_that_ends_with_its_event_does_not_swallow_the_next_one() -> None:
    stream = event("write to bob@example.com") + event("Thanks, and the key AKIAIOSFODNN7EXAMPLE") + event("Zed")
    r = inspect(stream, content_type="text/event-stream")
    assert event_data(r.body or b"") == ["write to [EMAIL_ADDRESS]", "Thanks, and the key [AWS_ACCESS_KEY_ID]", "Zed"]
    assert [sp for p in r.parts for sp in p.splits] == []


def test_only_the_same_field_of_consecutive_events_is_joined() -> None:
    other = event(f"key {AWS[:10]}") + event("hello", rpc_id=2) + event(f"{AWS[10:]} done")
    r = inspect(other, content_type="text/event-stream")
    assert r.decision.action is Action.ALLOW and r.body is None


def test_sse_holdback_redacts_both_halves(tmp_path: Path) -> None:
    bundle = default_policy_with(tmp_path, "settings:\n  mode: enforce\n",
                                 "settings:\n  mode: enforce\n  sse_holdback: 1\n")
    stream = event("hello") + event(f"key {AWS[:8]}") + event(f"{AWS[8:]} done") + event("bye")
    r = inspect(stream, bundle, content_type="text/event-stream")
    assert event_data(r.body or b"") == ["hello", "key ", "[AWS_ACCESS_KEY_ID] done", "bye"]
    # a card masked across two held-back events keeps its mask whole
    stream = event("pay 4111 1111 11") + event("11 1111 ok")
    r = inspect(stream, bundle, content_type="text/event-stream")
    assert event_data(r.body or b"") == ["pay " + "*" * 12, "***1111 ok"]


def test_sse_holdback_takes_the_held_piece_of_a_blocked_value_too(tmp_path: Path) -> None:
    rule = ("  - id: block-aws-keys\n    detect:\n      entity_types: [AWS_ACCESS_KEY_ID]\n"
            "    action: block\n")
    text = default_policy_path().read_text()
    text = text.replace("settings:\n  mode: enforce\n", "settings:\n  mode: enforce\n  sse_holdback: 1\n")
    text = text.replace("\ntests:\n", f"\n{rule}tests:\n")
    assert "sse_holdback: 1" in text and "block-aws-keys" in text
    (tmp_path / "p.yaml").write_text(text)
    bundle = load_bundle(load_settings({"policy": str(tmp_path / "p.yaml")}, env={}))
    stream = event("hello") + event(f"key {AWS[:8]}") + event(f"{AWS[8:]} done")
    r = inspect(stream, bundle, content_type="text/event-stream")
    first, second, third = [ev for ev in (r.body or b"").decode().split("\n\n") if ev.strip()]
    assert event_data(f"{first}\n\n{second}\n\n".encode()) == ["hello", "key "]
    assert '"error"' in third and AWS[8:] not in third
    assert r.decision.action is Action.BLOCK
