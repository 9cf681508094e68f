"""Validators alone, with generated valid values and single-digit mutations (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from icap_dlp.detection._validators import (
    IBAN_LENGTHS,
    Verdict,
    aba_routing,
    entropy,
    iban,
    jwt,
    kr_brn,
    kr_rrn,
    luhn,
    pem,
    phone,
    us_ssn,
)


def luhn_complete(prefix: str) -> str:
    for d in "0123456789":
        if luhn(prefix + d) is Verdict.VALID:
            return prefix + d
    raise AssertionError


def mutate(value: str, pos: int, delta: int) -> str:
    digits = [i for i, c in enumerate(value) if c.isdigit()]
    i = digits[pos % len(digits)]
    return value[:i] + str((int(value[i]) + delta) % 10) + value[i + 1:]


@settings(max_examples=200)
@given(st.text("0123456789", min_size=15, max_size=15), st.integers(0, 100), st.integers(1, 9))
def test_luhn_valid_and_every_single_digit_mutation_fails(prefix: str, pos: int, delta: int) -> None:
    number = luhn_complete("4" + prefix)
    assert luhn(number) is Verdict.VALID
    assert luhn(mutate(number, pos, delta)) is Verdict.INVALID


def iban_for(country: str, bban: str) -> str:
    n = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    return f"{country}{98 - n % 97:02d}{bban}"


@settings(max_examples=300)
@given(st.sampled_from(sorted(IBAN_LENGTHS)), st.data())
def test_iban_valid_and_mutation_fails(country: str, data: st.DataObject) -> None:
    bban = data.draw(st.text("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=IBAN_LENGTHS[country] - 4,
                             max_size=IBAN_LENGTHS[country] - 4))
    value = iban_for(country, bban)
    assert iban(value) is Verdict.VALID
    assert iban(value.lower()) is Verdict.VALID
    pos = data.draw(st.integers(0, 40))
    delta = data.draw(st.integers(1, 9))
    assert iban(mutate(value, pos, delta)) is Verdict.INVALID


def test_validators_take_any_unicode_without_raising() -> None:
    """Detector authors may pair a validator with a looser pattern: non-ASCII input is a verdict,
    never an exception (which would turn into an 'internal' failure for the whole message)."""
    from icap_dlp.detection._validators import REGISTRY

    odd = ["DE89 3704 0044 0532 0130 0\u00e9", "4111 1111 1111 111\u00b2", "\u0661" * 16, "eyJ\u00e9.eyJ.x", "", " "]
    for name, fn in REGISTRY.items():
        for v in odd:
            assert isinstance(fn(v), Verdict), (name, v)
    assert iban("DE89 3704 0044 0532 0130 0\u00e9") is Verdict.INVALID
    # Arabic-Indic digits are decimal digits (\\d matches them): the checksum is the same.
    arabic = "".join(chr(0x0660 + int(c)) for c in "4111111111111111")
    assert luhn(arabic) is Verdict.VALID
    assert luhn(arabic[:-1] + chr(0x0662)) is Verdict.INVALID


def test_iban_known_and_wrong_length() -> None:
    assert iban("DE89 3704 0044 0532 0130 00") is Verdict.VALID
    assert iban("GB82WEST12345698765432") is Verdict.VALID
    assert iban("DE89 3704 0044 0532 0130 0") is Verdict.INVALID
    assert iban("XX89370400440532013000") is Verdict.INVALID


_W = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)


def rrn_for(first12: str) -> str:
    check = (11 - sum(int(c) * w for c, w in zip(first12, _W, strict=True)) % 11) % 10
    return first12 + str(check)


@settings(max_examples=200)
@given(st.integers(0, 99), st.integers(1, 12), st.integers(1, 28), st.sampled_from("1234"),
       st.text("0123456789", min_size=5, max_size=5), st.integers(1, 9))
def test_kr_rrn_check_digit(yy: int, mm: int, dd: int, g: str, rest: str, delta: int) -> None:
    value = rrn_for(f"{yy:02d}{mm:02d}{dd:02d}{g}{rest}")
    assert kr_rrn(value) is Verdict.VALID
    bad = value[:12] + str((int(value[12]) + delta) % 10)
    # post-2020 numbers carry no check digit: a failed check is unknown, never valid
    assert kr_rrn(bad) is Verdict.UNKNOWN
    assert kr_rrn(value[:2] + "13" + value[4:]) is Verdict.INVALID


def test_us_ssn_rules() -> None:
    assert us_ssn("536-90-4399") is Verdict.VALID
    for bad in ("000-12-3456", "666-12-3456", "912-12-3456", "536-00-4399", "536-90-0000", "078-05-1120"):
        assert us_ssn(bad) is Verdict.INVALID, bad


def test_aba_and_brn() -> None:
    assert aba_routing("021000021") is Verdict.VALID
    assert aba_routing("021000022") is Verdict.INVALID
    assert kr_brn("220-81-62517") is Verdict.VALID
    assert kr_brn("220-81-62518") is Verdict.INVALID


def test_jwt_entropy_pem_phone() -> None:
    token = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ."
             "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
    assert jwt(token) is Verdict.VALID
    assert jwt("eyJub3QiOiJqd3QifQ.eyJ4IjoxfQ.c2ln") is Verdict.INVALID
    assert entropy("aaaaaaaaaaaa") is Verdict.INVALID
    assert entropy("Tr0ub4dor&3xyz") is Verdict.VALID
    key = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
           "-----END RSA PRIVATE KEY-----")
    assert pem(key) is Verdict.VALID
    assert pem("-----BEGIN RSA PRIVATE KEY-----\nMIIEow") is Verdict.UNKNOWN
    assert pem("-----BEGIN RSA PRIVATE KEY-----\n!!!!\n-----END RSA PRIVATE KEY-----") is Verdict.INVALID
    assert phone("+44 20 7946 0958") is Verdict.VALID
    assert phone("+1 555") is Verdict.INVALID


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(__import__("phonenumbers").COUNTRY_CODE_TO_REGION_CODE)),
       st.text("0123456789", min_size=4, max_size=13), st.sampled_from(["", " ", "-"]))
def test_phone_fast_path_agrees_with_libphonenumber(cc: int, national: str, sep: str) -> None:
    """International numbers skip ``parse``; the verdict must stay libphonenumber's own."""
    import phonenumbers

    value = f"+{cc}{sep}{national}"
    try:
        expected = phonenumbers.is_valid_number(phonenumbers.parse(value, None))
    except phonenumbers.NumberParseException:
        expected = False
    assert (phone(value) is Verdict.VALID) == expected, value


def test_phone_valid_numbers_of_many_countries() -> None:
    import phonenumbers

    for region in ("US", "GB", "DE", "FR", "KR", "JP", "IN", "BR", "IT", "AU"):
        example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
        text = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        assert phone(text) is Verdict.VALID, text
        assert phone(text[:5]) is Verdict.INVALID, text
