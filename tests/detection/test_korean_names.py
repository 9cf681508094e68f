"""Korean person names (kr-person-name): found by honorific, label or context; common words that
begin with a surname syllable survive."""

from __future__ import annotations

import pytest

from icap_dlp.detection import Engine, load_library

LIB = load_library()
ENGINE = Engine(LIB, ["kr-person-name"])


def names(text: str) -> list[str]:
    return [text[f.start:f.end] for f in ENGINE.scan(text)]


@pytest.mark.parametrize(("text", "want"), [
    ("고객 김현지님의 연락처는 010-1234-5678입니다.", ["김현지"]),
    ("담당자 이진호가 정보를 확인했습니다.", ["이진호"]),
    ("주민등록번호 900101-1234568, 성명 남궁민수", ["남궁민수"]),
    ("작성자: 제갈성렬\n내용: 이번 주 김치와 박스를 보냅니다.", ["제갈성렬"]),
    ("박영길 과장님께 전달 부탁드립니다.", ["박영길"]),
    ("{\"성명\": \"홍정훈\"}", ["홍정훈"]),
    ("이름,전화\n안미숙,010-2222-3333\n전시우,010-4444-5555\n", ["안미숙", "전시우"]),
])
def test_names_found(text: str, want: list[str]) -> None:
    assert names(text) == want


@pytest.mark.parametrize("text", [
    "이번 주 일정을 공유합니다. 정보를 확인하고 김치와 박스를 보냅니다.",
    "고객님, 주문하신 상품의 배송이 시작되었습니다. 연락처 변경은 고객센터로 문의하세요.",
    "고객 정보가 변경된 내용을 안내드립니다. 주소: 서울 강남구 테헤란로 1",
    "사장님과 선생님, 부장님께 보고했습니다.",
    "이메일로 보내 주세요. 전화 연결이 어렵습니다.",
])
def test_common_words_survive(text: str) -> None:
    assert names(text) == []


def test_no_hangul_no_work() -> None:
    """Texts without Hangul never reach the patterns (the anchor is two Hangul syllables as UTF-8
    bytes): not English, not accented French, not Japanese kana; Korean does."""
    for text in ("Customer Kim Hyun-ji, phone 010-1234-5678 ", "Élodie Lefèvre à Besançon ", "山田さんの電話 "):
        _, _, anchors = ENGINE.prefilter.scan(text * 100)
        assert anchors is not None and not anchors.get(0), text
    _, _, anchors = ENGINE.prefilter.scan("고객 김현지님")
    assert anchors is not None and anchors.get(0)


def test_the_patterns_use_the_validators_surname_table() -> None:
    """The surname character class in korea.yaml is the table in _korean.py, not a drifting copy."""
    from icap_dlp.detection._korean import SURNAMES, TWO_SYLLABLE_SURNAMES

    patterns = [p.regex for p in LIB.get("kr-person-name").patterns]
    for rx in patterns:
        assert "[" + "".join(sorted(SURNAMES)) + "]" in rx
    assert "|".join(sorted(TWO_SYLLABLE_SURNAMES)) in patterns[0]
