"""Pattern gates (``_literals``): the words a pattern cannot match without, and proof that skipping
a pattern on a text without them changes no finding."""

from __future__ import annotations

import functools
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icap_dlp.detection import Engine, load_library
from icap_dlp.detection._literals import required_literals
from icap_dlp.evaluate.generate import generate
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "loadtests"))
from bench_detection import mixed
from payloads import typical_text

LIB = load_library()
IDS = sorted(d.id for d in LIB.detectors if d.kind == "regex")


@pytest.mark.parametrize(("pattern", "want"), [
    (r"(?i)(?:ssn|social security(?: number| no\.?)?|ss#)\s*(\d{3} \d{2} \d{4})", ("social security", "ss#", "ssn")),
    (r"(?:ab|c)de", ("abde", "cde")),
    (r"x?abc", ("abc",)),
    (r"abc|xyz", ("abc", "xyz")),
    (r"sk_(?:live|test)_[0-9a-z]{24}", ("sk_live_", "sk_test_")),
    (r"\bAKIA[0-9A-Z]{16}", ("akia",)),
])
def test_required_literals(pattern: str, want: tuple[str, ...]) -> None:
    assert required_literals(pattern) == want


@pytest.mark.parametrize("pattern", [
    r"\d{3}-\d{2}-\d{4}",  # nothing fixed
    r"ab\d+",  # too short
    r"(?:abc|\d+)x",  # one alternative holds no fixed string
    r"(abc){e<=1}",  # regex's fuzzy matching: literal braces to Python's parser
    r"[[a-z]--[q]]abc",  # regex's set difference: parsed otherwise by Python
    r"abc\nxyz",  # a literal outside the safe alphabet
    r"\p{Lu}abc",  # not Python syntax
    r"(?V1)abc",
])
def test_no_gate_when_unsure(pattern: str) -> None:
    assert required_literals(pattern) == ()


def _gated() -> list[tuple[str, object]]:
    engine = Engine(LIB, IDS)
    return [(c.id, p) for c in engine.regex_detectors for p in c.patterns if p.needs]


def test_the_library_has_gated_patterns_and_every_example_match_holds_a_gate_word() -> None:
    """On every detector's own examples, each match of a gated pattern holds one of its words."""
    gated = _gated()
    assert {"us-ssn", "aws-access-key-id", "stripe-key"} <= {i for i, _ in gated}
    examples = {d.id: [*d.examples.match, *d.examples.no_match] for d in LIB.detectors if d.examples}
    checked = 0
    for det_id, p in gated:
        for text in examples.get(det_id, []):
            for m in p.rx.finditer(text):  # type: ignore[attr-defined]
                assert any(w in m.group(0).lower() for w in p.needs), (det_id, p.name, text)  # type: ignore[attr-defined]
                checked += 1
    assert checked > 20


@functools.cache
def _engines() -> tuple[Engine, Engine]:
    gated, plain = Engine(LIB, IDS), Engine(LIB, IDS)
    plain.pattern_gates = False
    return gated, plain


def test_gates_change_no_finding_on_the_bench_texts_and_the_labelled_corpus() -> None:
    gated, plain = _engines()
    texts = [typical_text(200_000, seed=s) for s in (1, 2)] + [mixed(200_000, seed=11)]
    texts += [c.body.decode("utf-8", "replace") for c in generate(20261127, 400)]
    for text in texts:
        assert gated.scan(text) == plain.scan(text)


_WORDS = ["ssn", "SSN", "Social Security", "ss#", "sk_live_", "AKIA", "xn--", "hf_", "sg.", "account", "acct",
          "https://hooks.slack.com/services/T", "github_pat_", "-----BEGIN PRIVATE KEY-----", "mrn", "Patient ID"]
# every detector's own example texts: real values with their labels, taken apart and mixed below
_EXAMPLES = sorted({t for d in LIB.detectors if d.examples for t in (*d.examples.match, *d.examples.no_match)})


@settings(max_examples=400, deadline=None)
@given(parts=st.lists(st.one_of(st.sampled_from(_WORDS), st.sampled_from(_EXAMPLES),
                                st.sampled_from([" ", ": ", "=", "\n", "-", ".", " 536 90 4399 "]),
                                st.from_regex(r"[0-9A-Za-z_]{1,40}", fullmatch=True)), max_size=30),
       upper=st.booleans())
def test_gates_change_no_finding_on_texts_made_of_gate_words_and_values(parts: list[str], upper: bool) -> None:
    text = "".join(parts)
    text = text.upper() if upper else text
    gated, plain = _engines()
    assert gated.scan(text) == plain.scan(text)
