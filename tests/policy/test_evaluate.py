"""The policy evaluator is pure: context + findings -> decision. Findings here are plain data."""

from __future__ import annotations

from pathlib import Path

import pytest

from icap_dlp.errors import ConfigError
from icap_dlp.model import Action, Direction, Finding, RequestContext
from icap_dlp.policy import compile_policy

LIB = {
    "credit-card": ("CREDIT_CARD", "financial"),
    "aws-access-key-id": ("AWS_ACCESS_KEY_ID", "credential"),
    "email": ("EMAIL_ADDRESS", "pii"),
}


def policy(tmp_path: Path, text: str, name: str = "p.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return compile_policy(p, frozenset(LIB), library_lookup=LIB)


def ctx(**kw: object) -> RequestContext:
    base: dict[str, object] = {"direction": Direction.RESPMOD, "service": "respmod"}
    base.update(kw)
    return RequestContext(**base)  # type: ignore[arg-type]


def f(det: str, start: int = 0, end: int = 4, score: float = 0.9) -> Finding:
    et, cat = LIB[det]
    return Finding(det, et, cat, "high", start, end, score, "test")


BASE = """
version: 1
name: t
rules:
  - id: block-bulk-cards
    detect: {entity_types: [CREDIT_CARD], min_count: 3}
    action: block
  - id: redact-secrets
    detect: {categories: [credential, financial]}
    action: redact
  - id: monitor-email
    detect: {detectors: [email]}
    action: monitor
"""


def test_strictest_action_wins_and_all_contributing_rules_are_recorded(tmp_path: Path) -> None:
    p = policy(tmp_path, BASE)
    d = p.evaluate(ctx(), [[f("credit-card"), f("email", 5, 9)]], ["4111 x@y.z"])
    assert d.action is Action.REDACT
    assert d.rules == ["redact-secrets", "monitor-email"]
    assert [op.operator for _, op in d.redactions] == ["tag"]


def test_min_count_threshold_blocks_only_bulk(tmp_path: Path) -> None:
    p = policy(tmp_path, BASE)
    two = [[f("credit-card", 0, 4), f("credit-card", 5, 9)]]
    three = [[f("credit-card", 0, 4), f("credit-card", 5, 9), f("credit-card", 10, 14)]]
    text = "aaaa bbbb cccc"
    assert p.evaluate(ctx(), two, [text]).action is Action.REDACT
    d = p.evaluate(ctx(), three, [text])
    assert d.action is Action.BLOCK
    assert "block-bulk-cards" in d.rules


def test_counts_span_segments(tmp_path: Path) -> None:
    p = policy(tmp_path, BASE)
    d = p.evaluate(ctx(), [[f("credit-card")], [f("credit-card")], [f("credit-card")]], ["aaaa"] * 3)
    assert d.action is Action.BLOCK


def test_no_findings_is_allow(tmp_path: Path) -> None:
    p = policy(tmp_path, BASE)
    d = p.evaluate(ctx(), [[]], ["hello"])
    assert d.action is Action.ALLOW and d.rules == []


def test_monitor_mode_passes_but_records_intent(tmp_path: Path) -> None:
    p = policy(tmp_path, BASE.replace("name: t", "name: t\nsettings: {mode: monitor}"))
    d = p.evaluate(ctx(), [[f("credit-card")] * 3], ["aaaa"])
    assert d.action is Action.ALLOW
    assert d.intended is Action.BLOCK


WHEN = """
version: 1
name: w
rules:
  - id: finance-tool-may-see-cards
    when: {tool: [ledger.*], group: [finance]}
    detect: {detectors: [credit-card]}
    action: allow
  - id: redact-cards-for-others
    when:
      direction: respmod
      not: {group: [finance]}
    detect: {detectors: [credit-card]}
    action: redact
  - id: block-cards-to-external
    when: {all: [{direction: reqmod}, {host: ["*.external.test"]}]}
    detect: {detectors: [credit-card]}
    action: block
  - id: lab-ips-only
    when: {client_ip: [10.0.0.0/8]}
    detect: {detectors: [aws-access-key-id]}
    action: block
"""


def test_conditions_user_group_tool_host_and_cidr(tmp_path: Path) -> None:
    p = policy(tmp_path, WHEN)
    cards = [[f("credit-card")]]
    assert p.evaluate(ctx(groups=("eng",)), cards, ["aaaa"]).action is Action.REDACT
    fin = p.evaluate(ctx(groups=("finance",), tool="ledger.read"), cards, ["aaaa"])
    assert fin.action is Action.ALLOW and fin.rules == ["finance-tool-may-see-cards"]
    out = p.evaluate(ctx(direction=Direction.REQMOD, host="api.external.test"), cards, ["aaaa"])
    assert out.action is Action.BLOCK
    assert p.evaluate(ctx(direction=Direction.REQMOD, host="api.internal.test"), cards, ["aaaa"]).action \
        is Action.ALLOW
    keys = [[f("aws-access-key-id")]]
    assert p.evaluate(ctx(client_ip="10.1.2.3"), keys, ["aaaa"]).action is Action.BLOCK
    assert p.evaluate(ctx(client_ip="192.0.2.1"), keys, ["aaaa"]).action is Action.ALLOW


def test_tool_unknown_is_explicit(tmp_path: Path) -> None:
    text = """
version: 1
name: u
rules:
  - id: unknown-tool
    when: {tool: [unknown]}
    detect: {detectors: [email]}
    action: block
"""
    p = policy(tmp_path, text)
    assert p.evaluate(ctx(), [[f("email")]], ["a@b.c"]).action is Action.BLOCK
    assert p.evaluate(ctx(tool="search"), [[f("email")]], ["a@b.c"]).action is Action.ALLOW


def test_partial_evaluation_keeps_body_dependent_rules(tmp_path: Path) -> None:
    p = policy(tmp_path, WHEN)
    # From headers alone the tool is not known yet: the finance rule might still apply.
    assert p.could_apply(ctx(groups=("finance",)))


def test_exceptions_values_patterns_and_users(tmp_path: Path) -> None:
    text = """
version: 1
name: e
rules:
  - id: redact-keys
    detect: {detectors: [aws-access-key-id]}
    action: redact
    exceptions:
      values: [AKIAEXAMPLEEXAMPLE00]
      patterns: ["AKIA0{16}"]
      users: [break-glass]
"""
    p = policy(tmp_path, text)
    value = "AKIAEXAMPLEEXAMPLE00"
    assert p.evaluate(ctx(), [[f("aws-access-key-id", 0, 20)]], [value]).action is Action.ALLOW
    assert p.evaluate(ctx(), [[f("aws-access-key-id", 0, 20)]], ["AKIA" + "0" * 16]).action is Action.ALLOW
    other = "AKIAIOSFODNN7EXAMPLE"
    assert p.evaluate(ctx(), [[f("aws-access-key-id", 0, 20)]], [other]).action is Action.REDACT
    assert p.evaluate(ctx(user="break-glass"), [[f("aws-access-key-id", 0, 20)]], [other]).action \
        is Action.ALLOW


def test_per_entity_operators_fall_back_to_global(tmp_path: Path) -> None:
    text = """
version: 1
name: o
settings:
  redaction:
    default: {operator: tag}
    entities:
      CREDIT_CARD: {operator: mask, keep_last: 4}
rules:
  - id: r
    detect: {categories: [financial, pii]}
    action: redact
    redact:
      entities:
        EMAIL_ADDRESS: {operator: hash}
"""
    p = policy(tmp_path, text)
    d = p.evaluate(ctx(), [[f("credit-card", 0, 4), f("email", 5, 9)]], ["aaaa bbbb"])
    ops = {lf.finding.entity_type: op.operator for lf, op in d.redactions}
    assert ops == {"CREDIT_CARD": "mask", "EMAIL_ADDRESS": "hash"}


def test_failure_mode_rule_overrides_global(tmp_path: Path) -> None:
    text = """
version: 1
name: fm
settings: {failure: {oversize: open}}
rules:
  - id: big-files-tool
    when: {host: [files.test]}
    detect: {detectors: [email]}
    action: redact
    failure: {oversize: closed}
"""
    p = policy(tmp_path, text)
    assert p.failure_mode("oversize", ctx(host="other.test"), "closed") == "open"
    assert p.failure_mode("oversize", ctx(host="files.test"), "open") == "closed"
    assert p.failure_mode("timeout", ctx(), "open") == "open"


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("version: 1\nname: x\nrules:\n  - id: a\n    action: explode\n", 5, "rules[0].action"),
        ("version: 1\nname: x\nrules:\n  - id: a\n    action: block\n    colour: red\n", 6, "unknown key"),
        ("version: 1\nname: x\nrules:\n  - id: a\n    detect: {detectors: [nope]}\n    action: block\n", 5,
         "unknown detector id 'nope'"),
        ("version: 1\nname: x\nrules:\n  - id: a\n    action: block\n  - id: a\n    action: allow\n", 6,
         "duplicate rule id"),
        ("version: 1\nname: x\nrules:\n  - id: a\n    when: {client_ip: [300.1.1.1]}\n    action: block\n", 5,
         "CIDR"),
        ("version: 1\nname: x\nrules:\n  - id: a\n    when: {url: ['re:(']}\n    action: block\n", 5,
         "invalid regex"),
        ("version: 2\nname: x\n", 1, "version"),
        ("version: 1\nname: x\nrules:\n  - id: a\n    action: redact\n", 5, "redact needs a detect"),
        ("version: 1\nname: [x\n", 3, "flow sequence that starts at line 2"),
    ],
)
def test_errors_name_file_line_and_field(tmp_path: Path, text: str, line: int, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        policy(tmp_path, text)
    msg = str(info.value)
    assert f"p.yaml:{line}:" in msg, msg
    assert needle in msg, msg


def test_folder_of_policies_merges_rules_and_rejects_two_settings(tmp_path: Path) -> None:
    d = tmp_path / "pol"
    d.mkdir()
    (d / "a.yaml").write_text("version: 1\nname: a\nsettings: {mode: monitor}\nrules:\n  - id: r1\n"
                              "    detect: {detectors: [email]}\n    action: block\n")
    (d / "b.yaml").write_text("version: 1\nname: b\nrules:\n  - id: r2\n    detect: {detectors: [credit-card]}\n"
                              "    action: redact\n")
    p = compile_policy(d, frozenset(LIB), library_lookup=LIB)
    assert [r.id for r in p.rules] == ["r1", "r2"]
    assert p.settings.mode == "monitor"
    (d / "c.yaml").write_text("version: 1\nname: c\nsettings: {mode: enforce}\n")
    with pytest.raises(ConfigError, match=r"c\.yaml:3: settings: settings are already given"):
        compile_policy(d, frozenset(LIB), library_lookup=LIB)


def test_version_changes_with_content(tmp_path: Path) -> None:
    a = policy(tmp_path, BASE)
    b = policy(tmp_path, BASE + "  - id: extra\n    detect: {detectors: [email]}\n    action: block\n")
    assert a.version != b.version
    assert policy(tmp_path, BASE).version == a.version


def test_a_stream_tally_carries_count_thresholds_across_messages(tmp_path: Path) -> None:
    from collections import Counter

    p = policy(tmp_path, BASE + """  - id: many-emails
    detect: {detectors: [email, credit-card], min_count_per_detector: 2}
    action: block
""")
    tally: Counter[str] = Counter()
    card = [[f("credit-card")]]
    assert p.evaluate(ctx(), card, ["4111"], tally).action is Action.REDACT
    assert p.evaluate(ctx(), [[f("email")]], ["x@y."], tally).action is Action.MONITOR  # 1 email so far
    d = p.evaluate(ctx(), card, ["4111"], tally)  # the second card: per-detector 2 reached
    assert d.action is Action.BLOCK and "many-emails" in d.rules and "block-bulk-cards" not in d.rules
    d = p.evaluate(ctx(), card, ["4111"], tally)  # the third: min_count 3 reached as well
    assert "block-bulk-cards" in d.rules
    assert p.evaluate(ctx(), [[]], [""], tally).action is Action.ALLOW  # nothing found, nothing blocked
    # Without a tally every message is judged alone.
    assert p.evaluate(ctx(), card, ["4111"]).action is Action.REDACT


def test_content_type_conditions_ignore_media_type_parameters(tmp_path: Path) -> None:
    p = policy(tmp_path, """
version: 1
name: t
rules:
  - id: block-json-cards
    when: {content_type: [application/json, "text/event-stream; charset=utf-8"]}
    detect: {entity_types: [CREDIT_CARD]}
    action: block
""")
    cards = [[f("credit-card")]]
    for ctype in ("application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8",
                  "text/event-stream", "text/event-stream; charset=utf-8"):
        assert p.evaluate(ctx(content_type=ctype), cards, ["aaaa"]).action is Action.BLOCK, ctype
    for ctype in ("application/jsonl", "text/plain; x=application/json", None):
        assert p.evaluate(ctx(content_type=ctype), cards, ["aaaa"]).action is Action.ALLOW, ctype
