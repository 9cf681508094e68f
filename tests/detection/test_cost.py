"""The static search-cost bound that lets provably cheap windows skip regex's per-call timeout."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from icap_dlp.detection import Engine, load_library
from icap_dlp.detection._cost import FAST_STEPS, MAX_WINDOW, _parse, fast_window, search_cost
from icap_dlp.detection._engine import anchor_width

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "loadtests"))
from bench_detection import mixed

LIB = load_library()
CATASTROPHIC = [r"(a+)+$", r"(a|aa)+$", r"(?:a|a)*b", r"(\w+\s?)*$", r"(a*)*c", r"(.*a){12}",
                r"(\d+[ -]?)+x", r"(?:[a-z0-9]+\.)+[a-z]{2,}!", r"^(a?){30}a{30}$"]


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_catastrophic_patterns_only_skip_the_timeout_in_tiny_windows(pattern: str) -> None:
    window = fast_window(pattern)
    assert window <= 16, window
    items = _parse(pattern, 0)
    assert items is not None
    assert search_cost(items, window) <= FAST_STEPS < search_cost(items, window + 1)


def test_the_bound_grows_with_the_nesting_that_makes_backtracking_explode() -> None:
    """One path per start for a fixed token; linear for a greedy run; exponential for (a|aa)+."""
    def cost(p: str, w: int) -> float:
        items = _parse(p, 0)
        assert items is not None
        return search_cost(items, w)

    assert cost(r"AKIA[A-Z2-7]{16}", 100) == cost(r"AKIA[A-Z2-7]{16}", 50) * 101 / 51
    assert cost(r"\d+x", 200) > 3 * cost(r"\d+x", 100)  # quadratic: w starts, w-long runs
    assert cost(r"(a|aa)+$", 40) > 1000 * cost(r"(a|aa)+$", 20)
    assert cost(r"a++x", 100) < cost(r"a+x", 100)  # a possessive run is never backtracked into


@pytest.mark.parametrize("pattern, flags", [
    (r"(?:secret){e<=1}", 0),  # regex's fuzzy matching: the re parser would read it as literals
    (r"[[a-z]--[aeiou]]+x", 0),  # V1 set operations
    (r"\p{Lu}\w+", 0),  # regex-only escapes fail to parse here
    (r"(?r)abc", 0),
    (r"token[a-z]{8}", regex.IGNORECASE),  # full case folding: one character may match two
    (r"(?i)token[a-z]{8}", 0),
    (r"(?i:token)[a-z]{8}", 0),
])
def test_what_the_bound_cannot_see_keeps_the_timeout(pattern: str, flags: int) -> None:
    assert fast_window(pattern, flags) == 0


def test_hot_library_patterns_get_their_anchor_windows_fast() -> None:
    """The point of the bound: the detectors that fire most in dense text skip the timeout in
    their anchor windows (a window is 2 x anchor_window plus the anchor match)."""
    for did in ("aws-access-key-id", "github-pat-classic", "credit-card", "iban", "ipv4", "private-ipv4"):
        c = LIB.compiled[did]
        width = anchor_width(c.spec.anchor or "")
        assert width is not None and c.patterns[0].fast_window >= 2 * c.spec.anchor_window + width, did
    assert 0 < max(p.fast_window for c in LIB.compiled.values() for p in c.patterns) <= MAX_WINDOW


def test_the_fast_path_finds_exactly_what_the_timeout_path_finds() -> None:
    text = mixed(200_000, seed=5)
    regex_ids = [d.id for d in LIB.detectors if d.kind == "regex"]
    fast = Engine(LIB, regex_ids)
    slow = Engine(load_library(), regex_ids)  # its own compiled detectors, edited below
    for c in slow.regex_detectors:
        object.__setattr__(c, "patterns", tuple(dataclasses.replace(p, fast_window=0) for p in c.patterns))
    assert any(p.fast_window for c in fast.regex_detectors for p in c.patterns)
    assert not any(p.fast_window for c in slow.regex_detectors for p in c.patterns)
    found = fast.scan(text)
    assert len(found) > 100 and found == slow.scan(text)


# The library's possessive forms and the plain backtracking forms they replaced.
PLAIN = {
    "email": r"(?<![\w.%+-])([A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)"
             r"{1,8}[A-Za-z]{2,24})(?![\w-])",
    "jwt": r"\b(eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{16,})(?![A-Za-z0-9_\-.])",
}


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(PLAIN)), st.lists(st.sampled_from(
    ["a", "Z", "9", ".", "-", "_", "%", "+", "@", " ", "x" * 60, "b-" * 31, "eyJ", "abcdefgh" * 2]), max_size=14))
def test_possessive_library_patterns_match_what_their_plain_forms_match(did: str, parts: list[str]) -> None:
    text = "".join(parts)
    plain = regex.compile(PLAIN[did], regex.VERSION1)
    ours = LIB.compiled[did].patterns[0].rx
    assert [m.span(1) for m in ours.finditer(text)] == [m.span(1) for m in plain.finditer(text)]
    assert LIB.compiled[did].patterns[0].fast_window > fast_window(PLAIN[did])


def test_possessive_library_patterns_on_real_shapes() -> None:
    label = "a" + "b-" * 30 + "c"  # 62 characters, hyphens inside
    texts = ["mail j.doe+tag@mail.example.co.uk now", f"x {'l' * 64}@{label}.{label}.com y", f"{'l' * 65}@a.com",
             f"u@{label}x.com", "u@-a.com", "u@a-.com", "a@b.c", "a@b.cc-",
             "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0."
             "SflKxwRJSMeKKF2QT4fwpMeJf36POk6y end", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.SflKxwRJSMeKKF2Q.x"]
    hits = 0
    for did, plain in PLAIN.items():
        rx = regex.compile(plain, regex.VERSION1)
        for t in texts:
            want = [m.span(1) for m in rx.finditer(t)]
            assert [m.span(1) for m in LIB.compiled[did].patterns[0].rx.finditer(t)] == want, (did, t)
            hits += len(want)
    assert hits >= 4
