"""Normalization before detection: NFKC, invisibles removed, digits and spaces, look-alikes; the offset map."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from icap_dlp.content import normalize

INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\u00ad", "\ufeff", "\u202e", "\ufe0f", "\u2066"]


def test_ascii_takes_the_fast_path() -> None:
    text = "plain ASCII text 4111 1111 1111 1111"
    n = normalize(text)
    assert n.text is text and not n.changed
    assert n.original_span(6, 11) == (6, 11)


def test_forms() -> None:
    assert normalize("4111\u200b1111").text == "41111111"
    assert normalize("\uff14\uff11\uff11\uff11").text == "4111"
    assert normalize("a\u00a0b\u2009c\u3000d").text == "a b c d"
    assert normalize("\u0664\u0661\u0661\u0661 \u096a").text == "4111 4"  # Arabic-Indic, Devanagari
    assert normalize("\ufb01le").text == "file"  # ligature: two characters from one
    assert normalize("\u0410KIA \u0430lice").text == "AKIA alice"
    assert normalize("\u0441\u0435\u043a\u0440\u0435\u0442").text == "\u0441\u0435\u043a\u0440\u0435\u0442"  # a word
    assert normalize("caf\u00e9 \u6771\u4eac").text == "caf\u00e9 \u6771\u4eac"
    assert not normalize("caf\u00e9 \u6771\u4eac").changed


def test_a_span_maps_back_over_the_invisible_characters_inside() -> None:
    text = "x \u200b4\u200b1\u00ad11 y"
    n = normalize(text)
    i = n.text.index("4111")
    s, e = n.original_span(i, i + 4)
    assert text[s:e] == "4\u200b1\u00ad11"
    assert normalize("\ufb01x").original_span(1, 2) == (0, 1)  # inside an expansion: the whole original char
    assert normalize("\u200b\u200b").original_span(0, 0) == (2, 2)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(INVISIBLE), st.sampled_from(list("ab 09@.")),
                          st.characters(codec="utf-8", exclude_categories=("Cs",))), max_size=60))
def test_property_the_map_covers_every_original_character_in_order(chars: list[str]) -> None:
    text = "".join(chars)
    n = normalize(text)
    spans = [n.original_span(i, i + 1) for i in range(len(n.text))]
    covered: set[int] = set()
    prev = (0, 0)
    for s, e in spans:
        assert 0 <= s < e <= len(text)
        # In order, disjoint; characters of one expansion (a ligature) share their original.
        assert (s, e) == prev or s >= prev[1], (prev, (s, e))
        prev = (s, e)
        covered.update(range(s, e))
    # Every original character is behind some normalized one, or it was removed (invisible).
    for i, c in enumerate(text):
        assert i in covered or normalize(c).text == "", (i, c)
    # A whole-text span maps to the whole text but removed characters at its edges.
    if n.text:
        s, e = n.original_span(0, len(n.text))
        assert normalize(text[:s]).text == "" and normalize(text[e:]).text == ""
