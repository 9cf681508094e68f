"""The built-in detector library: every detector's examples, schema, loading errors, ReDoS guards."""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icap_dlp.detection import Engine, json_schema, load_library
from icap_dlp.errors import ConfigError, InspectionError
from icap_dlp.model import Finding

REPO = Path(__file__).resolve().parents[2]
LIB = load_library()
REGEX_IDS = sorted(d.id for d in LIB.detectors if d.kind == "regex")
ENGINE = Engine(LIB, REGEX_IDS)


def test_library_size_and_coverage() -> None:
    assert len(LIB.detectors) >= 60
    cats = {d.category for d in LIB.detectors}
    assert {"pii", "financial", "credential", "government-id", "health", "infrastructure"} <= cats
    for d in LIB.detectors:
        assert d.examples.match and d.examples.no_match, d.id


@pytest.mark.parametrize("det_id", REGEX_IDS)
def test_detector_examples(det_id: str) -> None:
    spec = LIB.get(det_id)
    for text in spec.examples.match:
        assert any(f.detector_id == det_id for f in ENGINE.scan_all(text)), f"{det_id} missed {text!r}"
    for text in spec.examples.no_match:
        hits = [text[f.start:f.end] for f in ENGINE.scan_all(text) if f.detector_id == det_id]
        assert not hits, f"{det_id} matched {hits} in {text!r}"


def test_findings_hold_spans_not_values() -> None:
    text = "key AKIAIOSFODNN7EXAMPLE and card 4111 1111 1111 1111"
    found = ENGINE.scan(text)
    assert [text[f.start:f.end] for f in found] == ["AKIAIOSFODNN7EXAMPLE", "4111 1111 1111 1111"]
    for f in found:
        assert "AKIA" not in repr(f) and "4111" not in repr(f)
        assert f.explanation


def test_overlaps_resolved_by_score_then_length() -> None:
    text = "db at 10.20.30.40"
    found = ENGINE.scan(text)
    assert [f.detector_id for f in found] == ["private-ipv4"]
    assert len(ENGINE.scan_all(text)) == 2  # ipv4 and private-ipv4 both saw it


_WHY = ["pattern main", "pattern main; luhn valid", "pattern main; context card",
        "pattern main; luhn valid; context card", "pattern main; kr_rrn unknown; context rrn"]
_EVIDENCE = {_WHY[0]: 0, _WHY[1]: 1, _WHY[2]: 2, _WHY[3]: 3, _WHY[4]: 2}


def _best_first(findings: list[Finding]) -> list[Finding]:
    """The rule, stated plainly: best first (score, evidence: context 2 + valid check 1, length,
    id), keep what overlaps nothing kept."""
    kept: list[Finding] = []
    for f in sorted(findings, key=lambda f: (-f.score, -_EVIDENCE[f.explanation], -(f.end - f.start),
                                             f.detector_id, f.start)):
        if all(f.end <= k.start or k.end <= f.start for k in kept):
            kept.append(f)
    return sorted(kept, key=lambda f: f.start)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 60), st.integers(1, 15),
                          st.sampled_from([0.5, 0.7, 0.9, 1.0]), st.sampled_from(_WHY)), max_size=14))
def test_overlap_resolution_per_cluster_equals_the_plain_rule(spans: list[tuple[str, int, int, float, str]]) -> None:
    from icap_dlp.detection._engine import _resolve_overlaps

    findings = [Finding(d, "T", "pii", "low", s, s + w, score, why) for d, s, w, score, why in spans]
    assert _resolve_overlaps(findings) == _best_first(findings)


def test_required_context_words_gate_the_detector_without_changing_findings() -> None:
    """kr-landline-phone needs a context word within 30 characters: with none anywhere in the text
    it is not run at all, and where there is one the findings are what an ungated engine finds."""
    import dataclasses

    text = ("order 02-312-3456 shipped; ref 031-123-4567\n" * 50
            + "전화: 02-312-3456 after 5, Tel 031-123-4567\n")
    assert LIB.compiled["kr-landline-phone"].required_words
    ungated_lib = load_library()
    for did, c in ungated_lib.compiled.items():
        ungated_lib.compiled[did] = dataclasses.replace(c, required_words=())
    ungated = Engine(ungated_lib, REGEX_IDS)
    for t in (text, text.split("call")[0]):
        assert [(f.detector_id, f.start, f.end) for f in ENGINE.scan(t)] == \
            [(f.detector_id, f.start, f.end) for f in ungated.scan(t)]
    assert "kr-landline-phone" in {f.detector_id for f in ENGINE.scan(text)}


def test_context_words_with_cased_non_ascii_letters_are_no_gate(tmp_path: Path) -> None:
    from icap_dlp.detection._engine import _gate_words
    from icap_dlp.detection._schema import Context

    assert _gate_words(Context(words=["tel", "전화"], window=40, boost=0.2, required=True)) == ("tel", "전화")
    assert _gate_words(Context(words=["tel", "Телефон"], window=40, boost=0.2, required=True)) == ()
    assert _gate_words(Context(words=["tel"], window=40, boost=0.2, required=False)) == ()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 300), st.integers(0, 20)), max_size=10), st.integers(0, 40),
       st.integers(0, 300))
def test_windows_merge_and_clamp(hits: list[tuple[int, int]], size: int, extra: int) -> None:
    from icap_dlp.detection._engine import _windows

    limit = max([s + w for s, w in hits], default=0) + extra
    spans = [(s, s + w) for s, w in hits]
    plain: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        lo, hi = max(0, s - size), min(limit, e + size)
        if plain and lo <= plain[-1][1]:
            plain[-1] = (plain[-1][0], max(hi, plain[-1][1]))
        else:
            plain.append((lo, hi))
    assert _windows(spans, size, limit) == plain


def test_prefilter_skips_detectors_without_their_keywords() -> None:
    assert ENGINE.scan("nothing to see here, just prose about builds and tests") == []


def test_published_schema_is_current() -> None:
    published = json.loads((REPO / "schemas" / "detectors.schema.json").read_text())
    assert published == json_schema()


def _write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "d.yaml"
    p.write_text(body)
    return p


GOOD = """version: 1
detectors:
  - id: demo
    description: demo
    entity_type: DEMO
    category: pii
    patterns:
      - regex: 'demo-\\d+'
    examples:
      match: ['demo-1']
      no_match: ['demo']
"""


@pytest.mark.parametrize(("body", "line", "needle"), [
    (GOOD.replace("version: 1", "version: 1\nbogus: 2"), 2, "bogus: unknown key"),
    (GOOD.replace("      no_match: ['demo']\n", ""), 9, "examples.no_match"),
    (GOOD.replace("    patterns:", "    validator: nosuch\n    patterns:"), 7, "unknown validator 'nosuch'"),
    (GOOD + GOOD.split("detectors:\n", 1)[1], 12, "duplicate detector id 'demo'"),
    (GOOD.replace("demo-\\d+", "(a+)+$"), 8, "nested quantifiers"),
    (GOOD.replace("demo-\\d+", "demo-[0-"), 8, "invalid regex"),
    (GOOD.replace("entity_type: DEMO", "entity_type: [DEMO"), 6, "flow sequence that starts at line 5"),
    (GOOD.replace("    patterns:", "    validator: {name: entropy, args: {colour: 1}}\n    patterns:"), 7,
     "unknown argument"),
])
def test_loading_errors_name_file_line_and_field(tmp_path: Path, body: str, line: int, needle: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from icap_dlp.detection._hsdb import CACHE_ENV

    p = _write(tmp_path, body)
    # Twice with a cache: the second load may take the parsed file from it (when only the
    # compile step fails), and must name the same line.
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    for _ in range(2):
        with pytest.raises(ConfigError) as info:
            load_library([p])
        msg = str(info.value)
        assert f"d.yaml:{line}:" in msg, msg
        assert needle in msg, msg


def test_catastrophic_pattern_is_bounded_by_the_timeout(tmp_path: Path) -> None:
    # The lint rejects nested quantifiers; a pattern it can't see through is still time-bounded.
    body = GOOD.replace("demo-\\d+", "(?:a|aa)+$")
    lib = load_library([_write(tmp_path, body)])
    engine = Engine(lib, regex_timeout=0.1)
    t = time.perf_counter()
    with pytest.raises(InspectionError) as info:  # never a silent miss: the failure policy decides
        engine.scan("a" * 5000 + "b")
    assert info.value.reason == "timeout"
    assert time.perf_counter() - t < 2.0
    assert engine.timeouts == 1


def test_a_dense_text_is_scanned_to_the_end_not_timed_out() -> None:
    # The pattern budget guards one regex call stuck in one attempt. A text with a match every
    # 20 characters keeps one call (its windows merge) busy for longer than that budget, making
    # progress all along: it is scanned to the end (the message budget bounds the whole).
    text = " ".join(f"u{i}@example.com" for i in range(200_000))
    engine = Engine(LIB, ["email"], regex_timeout=0.25)
    t = time.perf_counter()
    found = engine.scan(text)
    assert len(found) == 200_000 and engine.timeouts == 0
    assert time.perf_counter() - t > 0.25  # it did outlast one budget (else the test proves nothing)


def test_a_message_budget_still_bounds_a_dense_text() -> None:
    text = " ".join(f"u{i}@example.com" for i in range(200_000))
    engine = Engine(LIB, ["email"], regex_timeout=0.25)
    token = engine.message_budget(0.3)
    try:
        with pytest.raises(InspectionError) as info:
            engine.scan(text)
    finally:
        engine.end_message_budget(token)
    assert info.value.reason == "timeout" and "0.3 s budget" in str(info.value)


def test_allow_list_values_and_patterns(tmp_path: Path) -> None:
    body = GOOD.replace("    examples:", "    allow:\n      values: [demo-7]\n      patterns: ['demo-9\\d*']\n"
                        "    examples:")
    lib = load_library([_write(tmp_path, body)])
    e = Engine(lib)
    text = "demo-7 demo-8 demo-99"
    assert [text[f.start:f.end] for f in e.scan(text)] == ["demo-8"]


def test_run_examples_reports_a_diff(tmp_path: Path) -> None:
    body = GOOD.replace("no_match: ['demo']", "no_match: ['demo-2']")
    lib = load_library([_write(tmp_path, body)])
    problems = lib.run_examples()
    assert len(problems) == 1 and "+ unexpected match 'demo-2'" in problems[0] and "d.yaml:3" in problems[0]


@pytest.mark.ner
def test_ner_detectors_run_their_examples() -> None:
    ner_ids = sorted(d.id for d in LIB.detectors if d.kind == "ner")
    engine = Engine(LIB, ner_ids)
    assert engine.needs_ner
    from icap_dlp.model import Segment

    for det_id in ner_ids:
        spec = LIB.get(det_id)
        hits = engine.scan_segments([Segment(t, "t") for t in spec.examples.match])
        assert all(any(f.detector_id == det_id for f in fs) for fs in hits), det_id
        misses = engine.scan_segments([Segment(t, "t") for t in spec.examples.no_match])
        assert not any(f.detector_id == det_id for fs in misses for f in fs), det_id


def test_ner_without_a_model_is_a_clear_error() -> None:
    from icap_dlp.detection._ner import find_model

    with pytest.raises(ConfigError, match="NER needs a spaCy model"):
        find_model("no_such_model_pkg")


@pytest.mark.parametrize("use_hyperscan", [True, False])
def test_prefilter_engines_agree(monkeypatch: pytest.MonkeyPatch, use_hyperscan: bool) -> None:
    import sys

    from icap_dlp.detection._engine import Prefilter

    if not use_hyperscan:
        monkeypatch.setitem(sys.modules, "hyperscan", None)
    p = Prefilter(["akia", "@", "비밀번호", "-----begin"], [4, 9])
    assert p.engine == ("hyperscan" if use_hyperscan and "hyperscan" in sys.modules else "python") or not use_hyperscan
    found, longest, _ = p.scan("x AKIA mail@x 비밀번호: 12345 -----BEGIN")
    assert found == {"akia", "@", "비밀번호", "-----begin"}
    assert longest >= 4 and longest < 9
    assert p.scan("nothing here")[:2] == (set(), 0)


def test_anchored_windows_find_what_a_full_scan_finds() -> None:
    import sys

    sys.path.insert(0, str(REPO / "loadtests"))
    from bench_detection import mixed

    text = mixed(200_000, seed=11)
    windowed = ENGINE.scan(text)
    full = Engine(LIB, REGEX_IDS)
    full.prefilter._db = None  # the pure-Python prefilter: no anchors, whole-text scans
    assert [(f.detector_id, f.start, f.end) for f in windowed] == \
        [(f.detector_id, f.start, f.end) for f in full.scan(text)]


def test_timeout_can_skip_instead_of_raising(tmp_path: Path) -> None:
    body = GOOD.replace("demo-\\d+", "(?:a|aa)+$")
    engine = Engine(load_library([_write(tmp_path, body)]), regex_timeout=0.1, on_timeout="skip")
    t = time.perf_counter()
    assert engine.scan("a" * 5000 + "b") == []
    assert time.perf_counter() - t < 2.0
    assert engine.timeouts == 1


@functools.cache
def _full_scan_engine() -> Engine:
    full = Engine(LIB, REGEX_IDS)
    full.prefilter._db = None  # the pure-Python prefilter: no anchors, whole-text scans
    return full


def test_windows_on_non_ascii_text_find_what_a_full_scan_finds() -> None:
    # Hyperscan offsets are UTF-8 bytes; Korean text before each value shifts them.
    text = "\n".join([
        "고객 정보: 주민등록번호 900101-1234568, 연락처 010-1234-5678,",
        "이메일 홍길동@example.com 아님 alice@example.com",
        "카드 4111 1111 1111 1111 결제 완료. 키 AKIAIOSFODNN7EXAMPLE 사용 금지 — 서버 10.20.30.40 접속",
        "비밀번호: Qw3rty!z9x 계좌번호: 국민 123456-01-234567 😀 IBAN DE89 3704 0044 0532 0130 00",
    ] * 30)
    windowed = ENGINE.scan(text)
    want = {"kr-rrn", "kr-mobile-phone", "email", "credit-card", "aws-access-key-id", "private-ipv4",
            "generic-password-assignment", "kr-bank-account", "iban"}
    assert want <= {f.detector_id for f in windowed}
    assert [(f.detector_id, f.start, f.end) for f in windowed] == \
        [(f.detector_id, f.start, f.end) for f in _full_scan_engine().scan(text)]


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**128 - 1), st.integers(0, 7), st.booleans())
def test_ipv6_anchor_is_a_necessary_condition(value: int, zeros: int, exploded: bool) -> None:
    """The ipv6 anchor must hold in every address its pattern matches, compressed or full."""
    import ipaddress

    mask = ~((1 << (16 * zeros)) - 1) & (2**128 - 1)  # a run of zero groups to compress
    addr = ipaddress.IPv6Address(value & mask)
    text = f"from {addr.exploded if exploded else addr.compressed} via gw"
    windowed = [(f.start, f.end) for f in ENGINE.scan(text) if f.detector_id == "ipv6"]
    assert windowed == [(f.start, f.end) for f in _full_scan_engine().scan(text) if f.detector_id == "ipv6"]


def test_a_token_longer_than_its_window_is_found_whole() -> None:
    # The jwt anchor covers header and payload; the window is 16 characters past it, far
    # shorter than this signature: the cut match is matched again on the whole text.
    token = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
             + "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c" * 20)
    text = "Authorization: Bearer " + token + " end"
    found = [f for f in ENGINE.scan(text) if f.detector_id == "jwt"]
    assert [(f.start, f.end) for f in found] == [(22, 22 + len(token))]


def test_anchor_width_bounded_or_not() -> None:
    from icap_dlp.detection._engine import anchor_width

    assert anchor_width(r"\d{4}[ \-]?\d{4}") == 9
    assert anchor_width(r"eyj[a-z0-9_\-]{8,}\.eyj") is None
    assert anchor_width("여권|passport") == 8 * 4  # characters to UTF-8 bytes, at most 4 each
