"""The NER gate on typical tool output: identifiers (capitalised tokens holding digits) are no
candidates, so logs and JSON lines with SKU codes, data-centre names and keys cost spaCy nothing,
while a name beside them is still a candidate of its own."""

from __future__ import annotations

import sys

from icap_dlp.detection._ner import candidate_windows
from tests.conftest import REPO


def _covered(text: str, windows: list[tuple[int, int]], word: str) -> bool:
    at = text.index(word)
    return any(lo <= at and at + len(word) <= hi for lo, hi in windows)


def test_identifiers_are_not_candidates() -> None:
    text = ('{"id": "85ae8770f9dba1db2b56955dda2d3b3d", "sku": "SKU-69446-H5", "warehouse": "IAD2"}\n' * 10
            + "key AKIAIOSFODNN7EXAMPLE rotated, build V2 shipped to FRA1 and SIN3\n" * 10)
    assert candidate_windows(text, 32) == []


def test_a_name_beside_identifiers_is_still_a_candidate() -> None:
    text = "order SKU-69446-H5 shipped from IAD2, signed by Maria Garcia at FRA1\n"
    windows = candidate_windows(text, 32)
    assert _covered(text, windows, "Maria Garcia")


def test_typical_tool_output_sends_spacy_a_small_share() -> None:
    sys.path.insert(0, str(REPO / "loadtests"))
    from payloads import typical_text

    text = typical_text(1 << 16)
    share = sum(hi - lo for lo, hi in candidate_windows(text, 32)) / len(text)
    assert share < 0.05  # 0.26 before identifiers stopped being candidates
