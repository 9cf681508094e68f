"""Typical tool output (loadtests/payloads.typical_text): the anchored, windowed scan finds exactly
what whole-text scans find, and every planted sensitive token is found."""

from __future__ import annotations

import functools
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from icap_dlp.detection import Engine, load_library
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "loadtests"))
from payloads import typical_text

LIB = load_library()
IDS = sorted(d.id for d in LIB.detectors if d.kind == "regex")


@functools.cache
def _engines() -> tuple[Engine, Engine]:
    windowed = Engine(LIB, IDS)
    full = Engine(LIB, IDS)
    full.prefilter._db = None  # the pure-Python prefilter: no anchors, whole-text scans
    return windowed, full


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32))
def test_windows_find_what_whole_text_scans_find(seed: int) -> None:
    text = typical_text(30_000, seed=seed)
    windowed, full = _engines()
    assert windowed.scan(text) == full.scan(text)


def test_every_planted_token_is_found() -> None:
    text = typical_text(200_000, seed=3)
    found = {(f.detector_id, text[f.start:f.end]) for f in _engines()[0].scan(text)}
    values = {v for _, v in found}
    for token in ("alice.martin@example.com", "ops+alerts@corp.example.org", "4111 1111 1111 1111",
                  "5500-0000-0000-0004", "AKIAIOSFODNN7EXAMPLE", "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",
                  "+1 415-555-2671"):
        assert token in values, token


_NAME_PARTS = ["Ann", "Lee", "Smith", "van", "der", "de", "Dr.", "Prof ", "Mrs", "O'Neil", "Jean-Luc", "Anne-Marie",
               "José", "Zoë", "Łukasz", "D\u2019Arcy", "Jr.", "PhD", "III", "name", "Name:", "author", "customer=",
               "contact", "성명", "id,name,email", "x", "ok", "42", "4111", "a1", "_", "-", ".", ",", "\"", ":", "=",
               "{\"name\": \"", "\"}", "<b>", "</b>"]
_GAPS = [" ", " ", " ", "\n", "\t", "\u00a0", "\x0b", "\x1c", "\u2003", "", ", ", "  "]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_NAME_PARTS), st.sampled_from(_GAPS)), max_size=60),
       st.integers(0, 400), st.booleans())
def test_name_anchor_finds_what_a_whole_text_scan_finds(parts: list[tuple[str, str]], long: int,
                                                        hyphen: bool) -> None:
    """person-name-labelled searches only around its anchor (a capitalised ASCII word before a
    capital, or any non-ASCII byte); every name a whole-text search finds is found, including
    after a capitalised word (or hyphenated first part) longer than the anchor's window."""
    words = [w + g for w, g in parts]
    words.insert(len(words) // 2, "\nAuthor: Q" + "u" * long + ("-Marie" if hyphen else "") + " Smith\n")
    text = "".join(words)
    windowed, full = _engines()

    def names(engine: Engine) -> list[tuple[int, int]]:
        return [(f.start, f.end) for f in engine.scan_all(text) if f.detector_id == "person-name-labelled"]

    assert names(windowed) == names(full)


def test_name_anchor_on_the_bench_texts() -> None:
    sys.path.insert(0, str(REPO / "loadtests"))
    import random

    from bench_detection import mixed
    from payloads import _prose

    windowed, full = _engines()
    for text in (typical_text(300_000, seed=7), mixed(300_000, seed=7), _prose(300_000, random.Random(7))):
        assert windowed.scan(text) == full.scan(text)


def test_a_lazy_engine_compiles_what_a_text_needs_and_finds_the_same() -> None:
    # Libraries of their own: none of their patterns compiled by another engine.
    eager = Engine(load_library(), IDS)
    assert all("rx" in vars(p) for c in eager.regex_detectors for p in c.patterns)
    lazy = Engine(load_library(), IDS, lazy=True)
    assert lazy.scan("hello world") == []
    assert not [p for c in lazy.regex_detectors for p in c.patterns if "rx" in vars(p)]
    text = typical_text(100_000, seed=12)
    assert lazy.scan(text) == eager.scan(text) != []
