"""Context from structure: a value's label (CSV header, key= line, HTML header) counts as context.

Each case pairs a text where the label is far from the value (outside the detector's context
window) with the same layout under an unrelated label: only the first is found.
"""

from __future__ import annotations

import pytest

from icap_dlp.detection import Engine, load_library
from icap_dlp.detection._structure import TextStructure

LIB = load_library()
ENGINE = Engine(LIB, ["phone-us", "us-ssn", "kr-rrn"])
FILLER = "x" * 60  # wider than any context window


def found(text: str) -> list[tuple[str, str]]:
    return [(f.detector_id, text[f.start:f.end]) for f in ENGINE.scan(text)]


CASES = {
    "csv header": ("id,{label},note\n1,305.787.7211,ok\n2,415.555.0134," + FILLER + "\n",
                   ["305.787.7211", "415.555.0134"]),
    "tsv header with rows below": ("name\t{label}\n" + "".join(f"{FILLER}\t212.555.{i:04d}\n" for i in range(100, 103)),
                                   ["212.555.0100", "212.555.0101", "212.555.0102"]),
    "markdown table": ("| name | {label} |\n|---|---|\n| " + FILLER + " | 305.787.7211 |\n", ["305.787.7211"]),
    "key= in a log line": (FILLER + " user=ann {label}=305.787.7211 status=200", ["305.787.7211"]),
    "yaml key": ("customer:\n  name: " + FILLER + "\n  {label}: 305.787.7211\n", ["305.787.7211"]),
    ".env line": ("export CUSTOMER_{label}=\"305.787.7211\"\n", ["305.787.7211"]),
    "html table header": ("<table><tr><th>Name</th><th>{label}</th></tr><tr><td>" + FILLER + "</td><td>"
                          + FILLER + "</td></tr><tr><td>Ann</td><td>305.787.7211</td></tr></table>", ["305.787.7211"]),
    "html row header": ("<table><tr><th>{label}</th><td>" + FILLER + "<br>305.787.7211</td></tr></table>",
                        ["305.787.7211"]),
    "html label": ("<label for=p>{label}</label><span>" + FILLER + "</span><input id=p value=305.787.7211>",
                   ["305.787.7211"]),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_a_label_is_context(kind: str) -> None:
    template, values = CASES[kind]
    with_label = template.replace("{label}", "Phone")
    assert found(with_label) == [("phone-us", v) for v in values]
    assert found(template.replace("{label}", "Build")) == []


def test_bare_ssn_and_rrn_under_their_column() -> None:
    text = "name,ssn,rrn,order\nAnn,536904399,9001011234568,123456782\n"
    assert found(text) == [("us-ssn", "536904399"), ("kr-rrn", "9001011234568")]


def test_a_data_row_is_not_a_header() -> None:
    # The first line holds 3 digits in a row: data, not a header.
    text = "Ann,Phone,1234\n" + FILLER + ",305.787.7211,1\n"
    assert found(text) == []
    assert found(text.replace("1234", "note")) == [("phone-us", "305.787.7211")]


def test_labels_are_bounded_on_a_long_line() -> None:
    text = "phone=" + "a" * 100_000 + " 305.787.7211"
    assert TextStructure(text).label(len(text) - 12, len(text)) == ""


@pytest.mark.parametrize(("location", "context", "want"), [
    ("$.result.structuredContent.customer.phone", "customer phone", [("phone-us", "305.787.7211")]),
    ("$.result.content[0].text<json>$.contact.phone", "contact phone", [("phone-us", "305.787.7211")]),
    ("event[3]:$.result.structuredContent.build", "structuredContent build", []),
    ("$.result.content[0].text", "content text", []),  # an envelope key says where the text is, not what
])
def test_the_json_key_of_a_segment_is_context(location: str, context: str, want: list[tuple[str, str]]) -> None:
    """The body model puts the last keys of a value's path in ``Segment.context``."""
    from icap_dlp.model import Segment

    seg = Segment("305.787.7211", location, context=context)
    assert [(f.detector_id, seg.text[f.start:f.end]) for f in ENGINE.scan_segments([seg])[0]] == want


def test_a_required_word_in_the_json_key_opens_the_gate() -> None:
    """person-name-labelled requires its words; under a `name` key the text holds none of them and
    is still searched (the gate reads the key too)."""
    from icap_dlp.model import Segment

    eng = Engine(LIB, ["person-name-labelled"])
    named = Segment("Maria van der Berg", "$.result.structuredContent.customers[2].full_name",
                    context="customers full_name")
    other = Segment("Maria van der Berg", "$.result.structuredContent.customers[2].team", context="customers team")
    found = eng.scan_segments([named, other])
    assert [named.text[f.start:f.end] for f in found[0]] == ["Maria van der Berg"]
    assert found[1] == []
