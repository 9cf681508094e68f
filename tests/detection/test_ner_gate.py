"""The NER gate and splitting (pure functions: no model needed), and NER through the engine."""

from __future__ import annotations

import itertools

import pytest

from icap_dlp.detection import Engine, NerConfig, load_library
from icap_dlp.detection._ner import candidate_windows, split_at_whitespace
from icap_dlp.model import Segment


def _covered(text: str, windows: list[tuple[int, int]], word: str) -> bool:
    at = text.index(word)
    return any(lo <= at and at + len(word) <= hi for lo, hi in windows)


def test_gate_keeps_names_and_skips_code_logs_and_sentence_openers() -> None:
    text = ("INFO 2026-01-01T10:00:00Z GET /api/v1 200\n" * 20
            + "The deploy is done. We waited.\n"
            + "self.client = HttpClient(timeout=30)\n"
            + "x = 1\n" * 20
            + "Ticket escalated to Maria Garcia in Lisbon.\n"
            + "x = 1\n" * 20)
    windows = candidate_windows(text, 24)
    assert _covered(text, windows, "Maria Garcia") and _covered(text, windows, "Lisbon")
    assert not _covered(text, windows, "INFO") and not _covered(text, windows, "HttpClient")
    assert not _covered(text, windows, "The deploy")
    assert sum(hi - lo for lo, hi in windows) < len(text) / 5
    # windows never cut a word in two
    for lo, hi in windows:
        assert lo == 0 or text[lo - 1].isspace()
        assert hi == len(text) or text[hi].isspace()


def test_gate_finds_nothing_in_lower_case_text() -> None:
    assert candidate_windows("the build ran tests against the staging cluster", 32) == []


def test_split_at_whitespace_covers_everything_without_cutting_words() -> None:
    text = " ".join(f"word{i}" for i in range(2000))
    pieces = list(split_at_whitespace(text, 0, len(text), 1000))
    assert pieces[0][0] == 0 and pieces[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(pieces))
    assert all(b - a <= 1000 for a, b in pieces)
    assert all(text[b - 1] == " " for _, b in pieces[:-1])


@pytest.mark.ner
def test_gated_ner_finds_what_ungated_finds_and_maps_offsets() -> None:
    lib = load_library()
    ids = sorted(d.id for d in lib.detectors if d.kind == "ner")
    filler = "def handler(event, ctx):\n    return db.query(event)\n" * 40
    texts = [filler + "The ticket was filed by Alice Johnson in Berlin yesterday.\n" + filler,
             "She moved to Paris.", "", "lower case text only"]
    gated = Engine(lib, ids).scan_segments([Segment(t, f"s{i}") for i, t in enumerate(texts)])
    full = Engine(lib, ids, ner=NerConfig(gate=False)).scan_segments([Segment(t, "s") for t in texts])

    def names(results: list[list]) -> list[set[tuple[str, str]]]:
        return [{(f.entity_type, t[f.start:f.end]) for f in fs} for t, fs in zip(texts, results, strict=True)]

    assert ("PERSON", "Alice Johnson") in names(gated)[0]
    assert ("LOCATION", "Paris") in names(gated)[1]
    assert names(gated)[0] >= {e for e in names(full)[0] if e[0] == "PERSON"}
    assert gated[2] == [] and gated[3] == []


@pytest.mark.ner
def test_long_text_is_split_not_truncated() -> None:
    lib = load_library()
    engine = Engine(lib, ["ner-person"], ner=NerConfig(gate=False, max_chars=2000))
    text = "the build ran fine. " * 500 + "Escalated to Alice Johnson today."
    found = engine.scan(text)
    assert [text[f.start:f.end] for f in found] == ["Alice Johnson"]


def test_ner_batches_are_bounded_by_pieces_and_characters() -> None:
    lib = load_library()
    e = Engine(lib, ["ner-person"], ner=NerConfig(gate=False, max_chars=500, batch_chars=2_000, batch_size=3))
    jobs = [(0, i * 500, (i + 1) * 500) for i in range(10)]
    groups = list(e._ner.batches(jobs))
    assert [j for g in groups for j in g] == jobs  # every piece once, in order
    assert all(len(g) <= 3 and sum(b - a for _, a, b in g) <= 2_000 for g in groups)


def test_ner_over_its_time_budget_raises_or_skips() -> None:
    """NER has no per-pattern timeout like regex: a whole-call budget bounds a huge body."""
    from icap_dlp.errors import InspectionError

    lib = load_library()
    text = "Ticket escalated to Maria Garcia in Lisbon. " * 2000  # ~90 KB of candidate windows
    strict = Engine(lib, ["ner-person", "email"], ner=NerConfig(batch_chars=2_000), ner_timeout=0.05)
    with pytest.raises(InspectionError) as exc:
        strict.scan_segments([Segment(text, "t")])
    assert exc.value.reason == "timeout" and strict.timeouts == 1
    lenient = Engine(lib, ["ner-person"], ner=NerConfig(batch_chars=2_000), ner_timeout=0.05, on_timeout="skip")
    assert lenient.scan_segments([Segment(text, "t")]) == [[]]
    assert lenient.timeouts == 1
    # The same text with a budget it fits in: the names are found.
    roomy = Engine(lib, ["ner-person"], ner_timeout=60)
    found = roomy.scan_segments([Segment(text[:440], "t")])[0]
    assert any(text[f.start:f.end] == "Maria Garcia" for f in found)
