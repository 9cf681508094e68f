"""Context from structure for anchored detectors (the national ids of issue 17): an anchor word in
the value's key, in a table's header far above, or written as a field name (``ni_no``,
``business_abn``) counts; a context word labels the nearest value only.

Each positive case has a negative twin (the same layout under an unrelated label or with the
word beside another value), so a rule that finds everything fails here.
"""

from __future__ import annotations

import pytest

from icap_dlp.detection import Engine, load_library
from icap_dlp.model import Segment

LIB = load_library()
ENGINE = Engine(LIB, [d.id for d in LIB.detectors if d.kind == "regex"])
ROWS = "".join(f"E{i:05d},{'x' * 70},{i}\n" for i in range(6))  # pushes values past every anchor window


def types(text: str, key: str = "") -> list[tuple[str, str]]:
    (found,) = ENGINE.scan_segments([Segment(text, "$", key)])
    return [(f.entity_type, text[f.start:f.end]) for f in found if f.score >= 0.5]


@pytest.mark.parametrize(("key", "value", "entity_type"), [
    ("employees aadhaar", "2345 6789 0124", "IN_AADHAAR"),
    ("records ust_idnr", "DE136695976", "DE_VAT_ID"),
    ("suppliers business_abn", "51 824 753 556", "AU_ABN"),
    ("staff tax_file_number", "123 456 782", "AU_TFN"),
])
def test_an_anchor_in_the_key_opens_the_value(key: str, value: str, entity_type: str) -> None:
    assert types(value, key) == [(entity_type, value)]
    assert types(value, "orders reference") == []


@pytest.mark.parametrize(("header", "value", "entity_type"), [
    ("ni_no", "AB 12 34 56 C", "UK_NINO"),
    ("business_abn", "51824753556", "AU_ABN"),
    ("patient_nhs_no", "9434765919", "UK_NHS"),
])
def test_a_table_header_labels_its_column_however_far_down(header: str, value: str, entity_type: str) -> None:
    text = f"employee_id,note,{header}\n{ROWS}E99999,ok,{value}\n"
    assert types(text) == [(entity_type, value)]
    assert types(text.replace(header, "order_ref")) == []


def test_a_header_widens_only_label_anchors_and_only_on_a_table_s_first_line() -> None:
    """SQL rows have as many commas as the line above: none of them is a header, and the e-mail
    anchor keeps its window (the local part before the @ is found whole)."""
    text = ("INSERT INTO payees (id, name, email, iban) VALUES\n"
            "(9763, 'Claudio Heser', 'claudio.heser.mba.33@hotmail.com', 'x'),\n"
            "(3055, 'Claudine Joubert', 'claudine.joubert34@gmail.com', 'y');\n")
    assert types(text) == [("EMAIL_ADDRESS", "claudio.heser.mba.33@hotmail.com"),
                           ("EMAIL_ADDRESS", "claudine.joubert34@gmail.com")]


@pytest.mark.parametrize(("text", "wanted"), [
    ("The customer confirmed NIN 10689775028. Refund ref. 69498807714 was closed.", "10689775028"),
    ("Refund ref. 69498807714 was closed. The customer confirmed NIN 10689775028.", "10689775028"),
    ("- 미국 운전면허번호(driver license): I2641011\n- 주문번호: 2290250\n", "I2641011"),
])
def test_a_context_word_labels_the_nearest_value(text: str, wanted: str) -> None:
    assert [v for _, v in types(text)] == [wanted]


def test_a_word_after_a_value_does_not_cross_a_line() -> None:
    assert types("ref 10689775028\nNIN: pending") == []
    assert types("10689775028 (NIN)") == [("NG_NIN", "10689775028")]


def test_eighteen_digit_luhn_numbers_need_a_card_word() -> None:
    """17 and 18 digits: the length of China's resident id and of many order ids; few card ranges."""
    assert types("order 475012345678901231") == []
    assert types("debit card 475012345678901231") == [("CREDIT_CARD", "475012345678901231")]
    assert types("order 4111111111111111") == [("CREDIT_CARD", "4111111111111111")]
