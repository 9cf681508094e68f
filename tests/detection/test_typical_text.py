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
