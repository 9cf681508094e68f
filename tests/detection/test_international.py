"""International identifiers (issue 17): validators against numbers built by each issuer's
algorithm (hypothesis), against presidio's independent implementations, the detectors on a seeded
labelled corpus (recall in context, look-alike survival), and overlap between countries."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icap_dlp.detection import Engine, load_library
from icap_dlp.detection import _validators as V
from icap_dlp.detection._engine import _resolve_overlaps, evidence
from icap_dlp.evaluate import _intl as G
from icap_dlp.model import Finding
from tests.detection import intl_corpus as C

Gen = Callable[[random.Random], str]

# validator, generator, and whether the algorithm guarantees that any single-digit change of the
# digits it covers is caught ("covered": a slice of the digit positions; None = every digit).
CHECKED: dict[str, tuple[V.Validator, Gen, slice | None]] = {
    "uk_nhs": (V.uk_nhs, G.uk_nhs, None),
    "de_tax_id": (V.de_tax_id, G.de_tax_id, None),
    "de_vat_id": (V.de_vat_id, G.de_vat_id, None),
    "de_health_insurance": (V.de_health_insurance, G.de_health_insurance, None),
    "es_nif": (V.es_nif, G.es_nif, None),
    "es_nie": (V.es_nif, G.es_nie, None),
    "it_fiscal_code": (V.it_fiscal_code, G.it_fiscal_code, None),
    "it_vat": (V.it_vat, G.it_vat, None),
    "pl_pesel": (V.pl_pesel, G.pl_pesel, None),
    "se_personnummer": (V.se_personnummer, G.se_personnummer, slice(-10, None)),  # Luhn covers YYMMDDNNNC
    "se_organisationsnummer": (V.se_organisationsnummer, G.se_organisationsnummer, None),
    "fi_hetu": (V.fi_hetu, G.fi_hetu, None),
    "in_aadhaar": (V.in_aadhaar, G.in_aadhaar, None),
    "in_gstin": (V.in_gstin, G.in_gstin, None),
    "sg_nric": (V.sg_nric, G.sg_nric, None),
    "sg_uen": (V.sg_uen, G.sg_uen, None),
    "au_tfn": (V.au_tfn, G.au_tfn, None),
    "au_abn": (V.au_abn, G.au_abn, None),
    "au_medicare": (V.au_medicare, G.au_medicare, slice(0, 9)),  # issue number and IRN carry no check
    "cn_resident_id": (V.cn_resident_id, G.cn_resident_id, None),
    "ca_sin": (V.ca_sin, G.ca_sin, None),
    "us_npi": (V.us_npi, G.us_npi, None),
    "za_id": (V.za_id, G.za_id, None),
    "tr_national_id": (V.tr_national_id, G.tr_national_id, None),
    # mod 11 mapping two remainders to one digit, or weights sharing a factor with 10: no guarantee
    "jp_my_number": (V.jp_my_number, G.jp_my_number, slice(0, 0)),
    "th_national_id": (V.th_national_id, G.th_national_id, slice(0, 0)),
    "au_acn": (V.au_acn, G.au_acn, slice(0, 0)),
    "de_social_security": (V.de_social_security, G.de_social_security, slice(0, 0)),
}
# No check character: the validator checks the shape (and a date) only.
SHAPE_ONLY: dict[str, tuple[V.Validator, Gen]] = {
    "uk_nino": (V.uk_nino, G.uk_nino), "uk_driving_licence": (V.uk_driving_licence, G.uk_driving_licence),
    "in_pan": (V.in_pan, G.in_pan),
}


def _mutate(value: str, covered: slice | None, pos: int, delta: int) -> str | None:
    digits = [i for i, c in enumerate(value) if c.isdigit()]
    if covered is not None:
        digits = digits[covered]
    if not digits:
        return None
    i = digits[pos % len(digits)]
    return value[:i] + str((int(value[i]) + delta) % 10) + value[i + 1:]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32), pos=st.integers(0, 40), delta=st.integers(1, 9))
@pytest.mark.parametrize("name", sorted(CHECKED))
def test_generated_numbers_are_valid_and_a_single_digit_change_is_caught(name: str, seed: int, pos: int,
                                                                        delta: int) -> None:
    fn, gen, covered = CHECKED[name]
    value = gen(random.Random(seed))
    assert fn(value) is V.Verdict.VALID, value
    assert name == "es_nie" or V.REGISTRY[name] is fn
    wrong = _mutate(value, covered, pos, delta)
    if wrong is not None:
        assert fn(wrong) is V.Verdict.INVALID, (value, wrong)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32))
@pytest.mark.parametrize("name", sorted(SHAPE_ONLY))
def test_generated_shapes_are_valid(name: str, seed: int) -> None:
    fn, gen = SHAPE_ONLY[name]
    assert fn(gen(random.Random(seed))) is V.Verdict.VALID


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32), pos=st.integers(0, 60), ch=st.sampled_from(G.B58))
def test_a_changed_wallet_character_fails_its_checksum(seed: int, pos: int, ch: str) -> None:
    """Base58Check (32-bit double SHA-256), bech32 and EIP-55: a random change passes about once in
    4 billion (bech32: never for one character); a Base58 swap is always caught here."""
    value = G.crypto_wallet(random.Random(seed))
    validator = V.eth_address if value.startswith("0x") else V.btc_address
    assert validator(value) is V.Verdict.VALID
    i = 2 + pos % (len(value) - 2) if value.startswith("0x") else 3 + pos % (len(value) - 3)
    if value.startswith("0x"):
        c = value[i]
        if not c.isalpha():
            return
        wrong = value[:i] + c.swapcase() + value[i + 1:]
        body = wrong[2:]
        if body == body.lower() or body == body.upper():
            # one case only: an address without an EIP-55 checksum, "unknown" by design
            assert validator(wrong) is V.Verdict.UNKNOWN, (value, wrong)
            return
    else:
        alphabet = G.BECH32 if value.startswith("bc1") else G.B58
        if ch not in alphabet or ch == value[i]:
            return
        wrong = value[:i] + ch + value[i + 1:]
    assert validator(wrong) is V.Verdict.INVALID, (value, wrong)


def test_shape_rules_and_unknowns() -> None:
    assert V.uk_nino("QQ123456C") is V.Verdict.INVALID  # never issued
    assert V.uk_nino("GB123456A") is V.Verdict.INVALID
    assert V.uk_nino("AB123456E") is V.Verdict.INVALID
    assert V.de_tax_id("11111111111") is V.Verdict.INVALID  # digit rule
    assert V.de_id_card("L01X00T47") is V.Verdict.UNKNOWN  # no check digit without the MRZ's
    assert V.de_id_card("T220001293") is V.Verdict.VALID and V.de_id_card("T220001294") is V.Verdict.INVALID
    assert V.ng_nin("12345678901") in (V.Verdict.VALID, V.Verdict.UNKNOWN)
    assert V.ng_nin("11111111111") is V.Verdict.INVALID
    # one case carries no EIP-55 checksum
    assert V.eth_address("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed") is V.Verdict.UNKNOWN
    assert V.pl_pesel("44133101351") is V.Verdict.INVALID  # month 13 (1900s) does not exist
    assert V.za_id("8013015009087") is V.Verdict.INVALID
    assert V.cn_resident_id("11010520991231002X") is V.Verdict.INVALID  # born in the future
    assert V.ca_sin("046454286") is V.Verdict.INVALID  # 0: never assigned (the textbook example)


def test_keccak_is_keccak() -> None:
    import hashlib

    for data in (b"", b"abc", b"x" * 135, b"x" * 136, b"x" * 300):
        assert V.keccak256(data, pad=0x06) == hashlib.sha3_256(data).digest()
    assert V.keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"


# presidio's recognizers implement most of these checks independently: they must agree.
PRESIDIO = {
    "uk_nhs": "NhsRecognizer", "de_tax_id": "DeTaxIdRecognizer", "de_health_insurance": "DeHealthInsuranceRecognizer",
    "de_social_security": "DeSocialSecurityRecognizer", "es_nif": "EsNifRecognizer", "es_nie": "EsNieRecognizer",
    "it_fiscal_code": "ItFiscalCodeRecognizer", "it_vat": "ItVatCodeRecognizer", "pl_pesel": "PlPeselRecognizer",
    "se_personnummer": "SePersonnummerRecognizer", "se_organisationsnummer": "SeOrganisationsnummerRecognizer",
    "fi_hetu": "FiPersonalIdentityCodeRecognizer", "in_aadhaar": "InAadhaarRecognizer", "sg_uen": "SgUenRecognizer",
    "au_tfn": "AuTfnRecognizer", "au_abn": "AuAbnRecognizer", "au_acn": "AuAcnRecognizer",
    "au_medicare": "AuMedicareRecognizer", "th_national_id": "ThTninRecognizer",
    "tr_national_id": "TrNationalIdRecognizer",
    "za_id": "ZaIdNumberRecognizer", "ca_sin": "CaSinRecognizer", "us_npi": "UsNpiRecognizer",
}


@pytest.mark.parametrize("name", sorted(PRESIDIO))
def test_agrees_with_presidio(name: str) -> None:
    recognizers = pytest.importorskip("presidio_analyzer.predefined_recognizers")
    rec = getattr(recognizers, PRESIDIO[name])()
    fn, gen, covered = CHECKED[name]
    rng = random.Random(name)
    disagree = []
    for _ in range(300):
        value = gen(rng)
        for v in (value, _mutate(value, covered, rng.randint(0, 40), rng.randint(1, 9)) or value):
            plain = v.replace(" ", "")
            if name != "fi_hetu":  # in a HETU the hyphen is the century sign
                plain = plain.replace("-", "")
            ours = fn(v) is V.Verdict.VALID
            theirs = rec.validate_result(plain)
            if theirs is not None and bool(theirs) != ours:
                disagree.append((v, ours, theirs))
    assert not disagree, disagree[:5]


LIB = load_library()
ENGINE = Engine(LIB, [d.id for d in LIB.detectors if d.kind == "regex"])
INTL = sorted(c.id for c in LIB.compiled.values() if c.file.rsplit("/", 1)[-1] in G.INTL_FILES)


def test_every_new_detector_is_prefiltered_and_needs_context_without_a_strong_check() -> None:
    strong = {"crypto-eth-address", "url"}
    for did in INTL:
        c = LIB.compiled[did]
        assert c.spec.anchor, did  # runs only in windows around its anchor (Hyperscan)
        if did in strong:
            assert c.spec.validator or did == "url", did
            continue
        assert c.spec.context is not None and c.spec.context.required, did
        # a required context is also a gate: no context word in the text, the detector is skipped
        assert c.required_words or any(ord(ch) > 127 for w in c.spec.context.words for ch in w), did


def test_every_entity_type_of_the_issue_has_a_detector() -> None:
    types = {LIB.get(d).entity_type for d in INTL}
    assert {k.entity_type for k in G.KINDS} <= types
    cats = {LIB.get(d).category for d in INTL}
    assert {"government-id", "tax-id", "health-id"} <= cats


def test_recall_in_context_and_look_alike_survival_per_type() -> None:
    tallies = C.measure(per_type=40, seed=17)
    low = {et: (round(t.recall, 3), round(t.survival, 3)) for et, t in tallies.items()
           if t.recall < 0.95 or t.survival < 0.99}
    assert not low, low
    assert all(t.positives == 40 for t in tallies.values())
    assert sum(t.lookalikes for t in tallies.values()) > 5000


def test_no_identifier_is_reported_under_another_countrys_type() -> None:
    tallies = C.measure(per_type=40, seed=23)
    wrong = {et: t.wrong_type for et, t in tallies.items() if t.wrong_type}
    assert not wrong, wrong


@pytest.mark.parametrize(("text", "value", "winner", "loser"), [
    # a South African id whose digits 7-13 make it a Korean alien registration number as well
    ("ID number: 8001015009087", "8001015009087", "za-id", "kr-alien-registration"),
    ("ID number: 8001015009087 (RRN on file)", "8001015009087", "za-id", "kr-alien-registration"),
    # a Canadian SIN is a valid 9-digit US SSN shape too
    ("SIN: 130692544", "130692544", "ca-sin", "us-ssn"),
    # a Thai id that is a date-shaped 13-digit number (Korean resident number pattern)
    ("เลขประจำตัวประชาชน 1101151234564", "1101151234564", "th-national-id", "kr-rrn"),
])
def test_the_detector_whose_check_and_context_agree_wins_the_same_digits(text: str, value: str, winner: str,
                                                                          loser: str) -> None:
    at = text.index(value)
    claims = {f.detector_id for f in ENGINE.scan_all(text) if f.start == at}
    # Since bare forms need context, the loser may not even claim the digits; when it does, it
    # must lose. Either way only the winner is reported.
    assert winner in claims and claims <= {winner, loser}, claims
    kept = [f for f in ENGINE.scan(text) if f.start < at + len(value) and at < f.end]
    assert [f.detector_id for f in kept] == [winner]


def test_a_capped_score_tie_goes_to_the_finding_with_more_evidence() -> None:
    both = Finding("zz-id", "ZZ", "government-id", "high", 0, 13, 1.0, "pattern main; za_id valid; context id number")
    ctx_only = Finding("aa-id", "AA", "government-id", "high", 0, 13, 1.0, "pattern main; aa unknown; context id")
    valid_only = Finding("ab-id", "AB", "government-id", "high", 0, 13, 1.0, "pattern main; ab valid")
    assert [evidence(f) for f in (both, ctx_only, valid_only)] == [3, 2, 1]
    assert _resolve_overlaps([ctx_only, valid_only, both]) == [both]
    assert _resolve_overlaps([valid_only, ctx_only]) == [ctx_only]
    # score still comes first
    higher = both._replace(detector_id="a", score=1.0)
    lower = both._replace(detector_id="b", score=0.9)
    assert _resolve_overlaps([lower, higher._replace(explanation="pattern main")]) == [
        higher._replace(explanation="pattern main")]


def test_anchor_windows_find_what_a_full_scan_finds_on_the_corpus() -> None:
    """Word anchors (the context words of a context-gated detector) must not lose a finding: the
    windowed scan equals the whole-text scan of the pure-Python prefilter."""
    rng = random.Random(3)
    parts = [c.text for c in C.cases(per_type=6, seed=29)]
    rng.shuffle(parts)
    filler = "The nightly build finished and all tests passed. "
    text = "".join(p + "\n" + filler * rng.randint(0, 3) for p in parts)
    full = Engine(LIB, [d.id for d in LIB.detectors if d.kind == "regex"])
    full.prefilter._db = None
    windowed = ENGINE.scan(text)
    assert len({f.entity_type for f in windowed}) >= 35
    assert [(f.detector_id, f.start, f.end) for f in windowed] == \
        [(f.detector_id, f.start, f.end) for f in full.scan(text)]


def test_visiting_only_word_gated_detectors_whose_words_occur_changes_no_finding() -> None:
    """The engine looks gated detectors up from the words the prefilter found; visiting every
    detector (the checks still apply) must find exactly the same."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "loadtests"))
    from bench_detection import mixed

    every = Engine(LIB, [d.id for d in LIB.detectors if d.kind == "regex"])
    every._ungated = tuple(range(len(every.regex_detectors)))
    every._gated_by = {}
    assert len(ENGINE._ungated) < len(every._ungated) - 40
    texts = [mixed(100_000, seed=5), *(c.text for c in C.cases(per_type=3, seed=31)), ""]
    for text in texts:
        assert [(f.detector_id, f.start, f.end, f.score) for f in ENGINE.scan(text)] == \
            [(f.detector_id, f.start, f.end, f.score) for f in every.scan(text)]
