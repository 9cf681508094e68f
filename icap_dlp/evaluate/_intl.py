"""Valid international identifiers built from each issuer's algorithm, and their look-alikes.

The check characters are computed by this module's own code, not by the validators under test
(``icap_dlp.detection._validators``), so a generated value proves the validator rather than echoing
it. :data:`KINDS` lists, per entity type, a value maker and the contexts the detectors were tuned on
(``tests/detection/intl_corpus.py``, the benchmark's tuning templates); :func:`wrong_check` and
:func:`same_length_decoys` make the look-alikes of the same shape and length. Used by the labelled
benchmark's generator (:mod:`icap_dlp.evaluate.generate`) and by the detection tests.
"""

from __future__ import annotations

import datetime
import hashlib
import random
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass

UPPER = string.ascii_uppercase
DIGITS = string.digits

# The detector files of this issue: survival counts their findings only (other detectors, such as
# phone numbers on a phone-number look-alike, are right to report what they report).
INTL_FILES = ("uk.yaml", "eu.yaml", "apac.yaml", "americas.yaml", "africa-mideast.yaml", "global.yaml")


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(DIGITS) for _ in range(n))


def _letters(rng: random.Random, n: int, alphabet: str = UPPER) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _birth(rng: random.Random, lo: int = 1940, hi: int = 2005) -> datetime.date:
    return datetime.date(lo, 1, 1) + datetime.timedelta(days=rng.randrange((datetime.date(hi, 12, 31)
                                                                           - datetime.date(lo, 1, 1)).days))


def luhn_digit(body: str) -> str:
    """The Luhn check digit for ``body``."""
    total = 0
    for i, c in enumerate(reversed(body)):
        d = int(c) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def mod11_10_digit(body: str) -> str:
    """ISO 7064 MOD 11,10 check digit (the German tax id and VAT id)."""
    product = 10
    for c in body:
        s = (int(c) + product) % 10 or 10
        product = (s * 2) % 11
    return str((11 - product) % 10)


VERHOEFF_D = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
              [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
              [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
              [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]]
VERHOEFF_P = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
              [8, 9, 1, 6, 0, 4, 3, 5, 2, 7], [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
              [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8]]
VERHOEFF_INV = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9]


def verhoeff_digit(body: str) -> str:
    c = 0
    for i, ch in enumerate(reversed(body)):
        c = VERHOEFF_D[c][VERHOEFF_P[(i + 1) % 8][int(ch)]]
    return str(VERHOEFF_INV[c])


def _weighted(body: str, weights: Iterable[int]) -> int:
    return sum(int(c) * w for c, w in zip(body, weights, strict=False))


# --- one generator per entity type: rng -> a valid value (formatted as people write it) ---

def uk_nino(rng: random.Random) -> str:
    while True:
        prefix = rng.choice("ABCEGHJKLMNOPRSTWXYZ") + rng.choice("ABCEGHJKLMNPRSTWXYZ")
        if prefix not in ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ"):
            break
    d = _digits(rng, 6)
    suffix = rng.choice("ABCD")
    return rng.choice([f"{prefix}{d}{suffix}", f"{prefix} {d[:2]} {d[2:4]} {d[4:]} {suffix}"])


def uk_nhs(rng: random.Random) -> str:
    while True:
        body = _digits(rng, 9)
        check = 11 - _weighted(body, range(10, 1, -1)) % 11
        if check != 10:
            d = body + str(check % 11)
            return rng.choice([d, f"{d[:3]} {d[3:6]} {d[6:]}"])


def uk_driving_licence(rng: random.Random) -> str:
    born = _birth(rng, 1940, 1999)
    surname = _letters(rng, rng.randint(2, 5)).ljust(5, "9")
    month = born.month + (50 if rng.random() < 0.5 else 0)
    yy = f"{born.year % 100:02d}"
    return f"{surname}{yy[0]}{month:02d}{born.day:02d}{yy[1]}{_letters(rng, 2)}9{_letters(rng, 2)}"


def uk_postcode(rng: random.Random) -> str:
    area = rng.choice(["SW", "EC", "W", "N", "M", "B", "LS", "G", "EH", "CF", "BS", "NE"])
    return f"{area}{rng.randint(1, 20)} {rng.randint(0, 9)}{_letters(rng, 2, 'ABDEFGHJLNPQRSTUWXYZ')}"


def de_tax_id(rng: random.Random) -> str:
    while True:
        pool = rng.sample(DIGITS, 9)  # one digit never occurs
        body = [*pool, rng.choice(pool)]  # one occurs twice
        rng.shuffle(body)
        if body[0] != "0":
            break
    b = "".join(body)
    d = b + mod11_10_digit(b)
    return rng.choice([d, f"{d[:2]} {d[2:5]} {d[5:8]} {d[8:]}"])


def de_tax_number(rng: random.Random) -> str:
    return rng.choice([f"{_digits(rng, 3)}/{_digits(rng, 3)}/{_digits(rng, 5)}",
                       f"{rng.choice(['91', '92', '93', '28', '26'])}{_digits(rng, 2)}0{_digits(rng, 8)}"])


def de_vat_id(rng: random.Random) -> str:
    b = str(rng.randint(1, 9)) + _digits(rng, 7)
    return "DE" + b + mod11_10_digit(b)


def de_health_insurance(rng: random.Random) -> str:
    letter = rng.choice(UPPER)
    b = _digits(rng, 8)
    total = 0
    for c, w in zip(f"{ord(letter) - 64:02d}" + b, (1, 2) * 5, strict=True):
        p = int(c) * w
        total += p // 10 + p % 10
    return letter + b + str(total % 10)


DE_ID_ALPHABET = "CFGHJKLMNPRTVWXYZ"
ICAO = DIGITS + UPPER


def de_id_card(rng: random.Random) -> str:
    body = (rng.choice(DE_ID_ALPHABET) + "".join(rng.choice(DE_ID_ALPHABET + DIGITS) for _ in range(7))
            + rng.choice(DIGITS))
    if rng.random() < 0.5:
        return body
    return body + str(sum(ICAO.index(c) * (7, 3, 1)[i % 3] for i, c in enumerate(body)) % 10)


def de_social_security(rng: random.Random) -> str:
    born = _birth(rng)
    head = f"{rng.randint(2, 89):02d}{born:%d%m%y}"
    letter = rng.choice(UPPER)
    serial = _digits(rng, 2)
    total = 0
    for c, w in zip(head + f"{ord(letter) - 64:02d}" + serial, (2, 1, 2, 5, 7, 1, 2, 1, 2, 1, 2, 1), strict=True):
        p = int(c) * w
        total += p // 10 + p % 10
    v = f"{head}{letter}{serial}{total % 10}"
    return rng.choice([v, f"{v[:2]} {v[2:8]} {v[8]} {v[9:]}"])


ES_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def es_nif(rng: random.Random) -> str:
    n = rng.randint(1, 99_999_999)
    d = f"{n:08d}"
    return rng.choice([f"{d}{ES_LETTERS[n % 23]}", f"{d}-{ES_LETTERS[n % 23]}"])


def es_nie(rng: random.Random) -> str:
    k = rng.randint(0, 2)
    n = int(f"{k}{_digits(rng, 7)}")
    return f"{'XYZ'[k]}{n % 10_000_000:07d}{ES_LETTERS[n % 23]}"


CF_ODD = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23]


def it_fiscal_code(rng: random.Random) -> str:
    born = _birth(rng)
    day = born.day + (40 if rng.random() < 0.5 else 0)
    body = (_letters(rng, 6) + f"{born.year % 100:02d}" + "ABCDEHLMPRST"[born.month - 1] + f"{day:02d}"
            + rng.choice(UPPER) + _digits(rng, 3))
    total = 0
    for i, c in enumerate(body):
        v = int(c) if c.isdigit() else ord(c) - 65
        total += CF_ODD[v] if i % 2 == 0 else v
    return body + chr(65 + total % 26)


def it_vat(rng: random.Random) -> str:
    b = _digits(rng, 7) + f"{rng.randint(1, 100):03d}"
    return b + luhn_digit(b)


def it_identity_card(rng: random.Random) -> str:
    return rng.choice([f"C{rng.choice('ABCDEFGHIJ')}{_digits(rng, 5)}{_letters(rng, 2)}",
                       f"A{rng.choice('ABCDEFGHIJ')}{_digits(rng, 7)}"])


def pl_pesel(rng: random.Random) -> str:
    born = _birth(rng, 1930, 2015)
    month = born.month + {19: 0, 20: 20}[born.year // 100]
    b = f"{born.year % 100:02d}{month:02d}{born.day:02d}{_digits(rng, 4)}"
    return b + str((10 - _weighted(b, (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)) % 10) % 10)


def se_personnummer(rng: random.Random) -> str:
    born = _birth(rng)
    day = born.day + (60 if rng.random() < 0.1 else 0)  # samordningsnummer
    b = f"{born.year % 100:02d}{born.month:02d}{day:02d}{_digits(rng, 3)}"
    v = b + luhn_digit(b)
    return rng.choice([f"{v[:6]}-{v[6:]}", f"{born.year // 100}{v[:6]}-{v[6:]}", f"{born.year // 100}{v}"])


def se_organisationsnummer(rng: random.Random) -> str:
    b = rng.choice("25789") + str(rng.randint(0, 9)) + str(rng.randint(2, 9)) + _digits(rng, 6)
    v = b + luhn_digit(b)
    return f"{v[:6]}-{v[6:]}"


FI_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"


def fi_hetu(rng: random.Random) -> str:
    born = _birth(rng, 1920, 2015)
    sign = rng.choice("-YXWVU") if born.year < 2000 else rng.choice("ABCDEF")
    ind = f"{rng.randint(2, 899):03d}"
    return f"{born:%d%m%y}{sign}{ind}{FI_CHECK[int(f'{born:%d%m%y}{ind}') % 31]}"


def in_aadhaar(rng: random.Random) -> str:
    b = str(rng.randint(2, 9)) + _digits(rng, 10)
    v = b + verhoeff_digit(b)
    return rng.choice([v, f"{v[:4]} {v[4:8]} {v[8:]}"])


def in_pan(rng: random.Random) -> str:
    holder = rng.choice("PCHFATBLJG")
    return _letters(rng, 3) + holder + rng.choice(UPPER) + f"{rng.randint(1, 9999):04d}" + rng.choice(UPPER)


B36 = DIGITS + UPPER


def in_gstin(rng: random.Random) -> str:
    b = f"{rng.randint(1, 37):02d}" + in_pan(rng) + rng.choice("123456789") + "Z"
    total = 0
    for i, c in enumerate(b):
        hi, lo = divmod(B36.index(c) * (2 if i % 2 else 1), 36)
        total += hi + lo
    return b + B36[(36 - total % 36) % 36]


def in_voter(rng: random.Random) -> str:
    return _letters(rng, 3) + f"{rng.randint(1, 9_999_999):07d}"


SG = {"S": (0, "JZIHGFEDCBA"), "T": (4, "JZIHGFEDCBA"), "F": (0, "XWUTRQPNMLK"), "G": (4, "XWUTRQPNMLK"),
      "M": (3, "XWUTRQPNJLK")}


def sg_nric(rng: random.Random) -> str:
    p = rng.choice("STFGM")
    d = _digits(rng, 7)
    offset, table = SG[p]
    return p + d + table[(offset + _weighted(d, (2, 7, 6, 5, 4, 3, 2))) % 11]


def sg_uen(rng: random.Random) -> str:
    kind = rng.randint(0, 2)
    if kind == 0:
        d = _digits(rng, 8)
        return d + "XMKECAWLJDB"[_weighted(d, (10, 4, 9, 3, 8, 2, 7, 1)) % 11]
    if kind == 1:
        d = str(rng.randint(1970, 2024)) + _digits(rng, 5)
        return d + "ZKCMDNERGWH"[_weighted(d, (10, 8, 6, 4, 9, 7, 5, 3, 1)) % 11]
    alphabet = "ABCDEFGHJKLMNPQRSTUVWX0123456789"
    d = rng.choice("TS") + _digits(rng, 2) + rng.choice(["LL", "LP", "FC", "PF", "SS", "CS"]) + _digits(rng, 4)
    total = sum(alphabet.index(c) * w for c, w in zip(d, (4, 3, 5, 3, 10, 2, 2, 5, 7), strict=True))
    return d + alphabet[(total - 5) % 11]


def au_tfn(rng: random.Random) -> str:
    while True:
        d = _digits(rng, 9)
        if _weighted(d, (1, 4, 3, 7, 5, 8, 6, 9, 10)) % 11 == 0 and len(set(d)) > 1:
            return rng.choice([d, f"{d[:3]} {d[3:6]} {d[6:]}"])


def au_abn(rng: random.Random) -> str:
    rest = _digits(rng, 9)
    for prefix in range(10, 100):
        d = f"{prefix}{rest}"
        if ((int(d[0]) - 1) * 10 + _weighted(d[1:], (1, 3, 5, 7, 9, 11, 13, 15, 17, 19))) % 89 == 0:
            return rng.choice([d, f"{d[:2]} {d[2:5]} {d[5:8]} {d[8:]}"])
    return au_abn(rng)


def au_acn(rng: random.Random) -> str:
    b = _digits(rng, 8)
    d = b + str((10 - _weighted(b, range(8, 0, -1)) % 10) % 10)
    return rng.choice([d, f"{d[:3]} {d[3:6]} {d[6:]}"])


def au_medicare(rng: random.Random) -> str:
    b = str(rng.randint(2, 6)) + _digits(rng, 7)
    d = b + str(_weighted(b, (1, 3, 7, 9, 1, 3, 7, 9)) % 10) + str(rng.randint(1, 9))
    return rng.choice([d, f"{d[:4]} {d[4:9]} {d[9]}", f"{d}-{rng.randint(1, 9)}"])


def jp_my_number(rng: random.Random) -> str:
    b = _digits(rng, 11)
    r = _weighted(b[::-1], (2, 3, 4, 5, 6, 7, 2, 3, 4, 5, 6)) % 11
    d = b + str(0 if r <= 1 else 11 - r)
    return rng.choice([d, f"{d[:4]} {d[4:8]} {d[8:]}"])


CN_REGIONS = ["110105", "310104", "440106", "510107", "330106", "420102", "320102", "610113", "210102", "350203"]


def cn_resident_id(rng: random.Random) -> str:
    b = rng.choice(CN_REGIONS) + f"{_birth(rng):%Y%m%d}" + _digits(rng, 3)
    return b + "10X98765432"[_weighted(b, (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)) % 11]


def th_national_id(rng: random.Random) -> str:
    b = str(rng.randint(1, 8)) + _digits(rng, 11)
    d = b + str((11 - _weighted(b, range(13, 1, -1)) % 11) % 10)
    return rng.choice([d, f"{d[0]}-{d[1:5]}-{d[5:10]}-{d[10:12]}-{d[12]}"])


def ca_sin(rng: random.Random) -> str:
    b = rng.choice("1234567") + _digits(rng, 7)
    d = b + luhn_digit(b)
    return rng.choice([d, f"{d[:3]} {d[3:6]} {d[6:]}", f"{d[:3]}-{d[3:6]}-{d[6:]}"])


def us_driver_license(rng: random.Random) -> str:
    return rng.choice([rng.choice(UPPER) + _digits(rng, 7), _digits(rng, 8), _digits(rng, 9),
                       f"{rng.choice(UPPER)}{_digits(rng, 3)}-{_digits(rng, 3)}-{_digits(rng, 2)}-{_digits(rng, 3)}"
                       f"-{rng.randint(0, 9)}"])


def us_npi(rng: random.Random) -> str:
    b = rng.choice("12") + _digits(rng, 8)
    return b + luhn_digit("80840" + b)


def ng_nin(rng: random.Random) -> str:
    return str(rng.randint(1, 9)) + _digits(rng, 10)


def za_id(rng: random.Random) -> str:
    b = f"{_birth(rng):%y%m%d}{_digits(rng, 4)}{rng.choice('01')}8"
    d = b + luhn_digit(b)
    return rng.choice([d, f"{d[:6]} {d[6:10]} {d[10:]}"])


def tr_national_id(rng: random.Random) -> str:
    n = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(8)]
    n.append((7 * sum(n[0:9:2]) - sum(n[1:8:2])) % 10)
    n.append(sum(n) % 10)
    return "".join(map(str, n))


B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _b58check(payload: bytes) -> str:
    raw = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    n = int.from_bytes(raw, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    return "1" * (len(raw) - len(raw.lstrip(b"\0"))) + out


def _bech32_polymod(values: list[int]) -> int:
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        b = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (b >> i) & 1 else 0
    return chk


def _segwit(program: bytes) -> str:
    data = [0]  # witness version 0: bech32
    acc = bits = 0
    for byte in program:
        acc = acc << 8 | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            data.append(acc >> bits & 31)
    if bits:
        data.append(acc << (5 - bits) & 31)
    hrp = [ord(c) >> 5 for c in "bc"] + [0] + [ord(c) & 31 for c in "bc"]
    pm = _bech32_polymod(hrp + data + [0] * 6) ^ 1
    return "bc1" + "".join(BECH32[d] for d in data + [(pm >> 5 * (5 - i)) & 31 for i in range(6)])


def crypto_wallet(rng: random.Random) -> str:
    h = rng.randbytes(20)
    kind = rng.randint(0, 3)
    if kind == 0:
        return _b58check(b"\0" + h)
    if kind == 1:
        return _b58check(b"\5" + h)
    if kind == 2:
        return _segwit(h)
    from icap_dlp.detection._validators import keccak256

    hexpart = h.hex()
    digest = keccak256(hexpart.encode()).hex()
    return "0x" + "".join(c.upper() if c.isalpha() and int(digest[i], 16) >= 8 else c for i, c in enumerate(hexpart))


def url(rng: random.Random) -> str:
    host = rng.choice(["portal.example.com", "hr.example.org", "crm.example.net", "www.example.co.uk"])
    path = rng.choice(['employees', 'patients', 'accounts'])
    return f"https://{host}/{path}/{rng.randint(1, 99999)}?tab={rng.choice(['payroll', 'profile'])}"


@dataclass(frozen=True)
class Kind:
    entity_type: str
    make: Callable[[random.Random], str]
    contexts: tuple[str, ...]  # templates with {v}: the number in its own context
    checked: bool  # a wrong check character makes it invalid (so that look-alike applies)
    check_at: int = -1  # which alphanumeric character is the check character
    lookalikes: tuple[str, ...] = ()  # fixed look-alikes instead of same-length ones (URLs)


K = Kind
KINDS: tuple[Kind, ...] = (
    K("UK_NINO", uk_nino, ("National Insurance number: {v}", '{{"employee": "J. Smith", "nino": "{v}"}}',
                           "Payroll record - NI number {v}, tax code 1257L", "Rhif Yswiriant Gwladol: {v}"), False),
    K("UK_NHS", uk_nhs, ("Patient: Mary Jones, NHS number {v}, GP surgery Leeds", '{{"nhs_number": "{v}"}}',
                         "NHS No: {v}", "Rhif GIG: {v}"), True),
    K("UK_DRIVING_LICENCE", uk_driving_licence, ("Driving licence number: {v}", "DVLA check for licence {v} passed",
                                                 '{{"driving_licence": "{v}"}}'), False),
    K("UK_POSTCODE", uk_postcode, ("Home address: 22 Baker Street, London {v}", "Postcode: {v}",
                                   '{{"postcode": "{v}"}}'), False),
    K("DE_TAX_ID", de_tax_id, ("Steuer-ID: {v}", "Mitarbeiterin Anna Schmidt, Steueridentifikationsnummer {v}",
                               '{{"steuer_id": "{v}"}}', "Tax ID (IdNr): {v}"), True),
    K("DE_TAX_NUMBER", de_tax_number, ("Steuernummer: {v}", "Finanzamt Köln-Mitte, St.-Nr. {v}",
                                       '{{"steuernummer": "{v}"}}'), False),
    K("DE_VAT_ID", de_vat_id, ("USt-IdNr.: {v}", "Rechnung an Muster GmbH, USt-IdNr. {v}", '{{"vat_id": "{v}"}}'),
      True),
    K("DE_HEALTH_INSURANCE", de_health_insurance, ("Krankenversichertennummer: {v}", "KVNR {v} (AOK Bayern)",
                                                   '{{"versichertennummer": "{v}"}}'), True),
    K("DE_ID_CARD", de_id_card, ("Personalausweis Nr. {v}", "Ausweisnummer: {v}", "ID card number {v}"), False),
    K("DE_SOCIAL_SECURITY", de_social_security, ("Sozialversicherungsnummer: {v}", "RVNR {v}",
                                                 '{{"svnr": "{v}"}}'), True),
    K("ES_NIF", es_nif, ("DNI: {v}", "Empleado: Juan García, NIF {v}", '{{"dni": "{v}"}}'), True),
    K("ES_NIE", es_nie, ("NIE: {v}", "Tarjeta de residencia de extranjero {v}", '{{"nie": "{v}"}}'), True),
    K("IT_FISCAL_CODE", it_fiscal_code, ("Codice fiscale: {v}", "Dipendente Mario Rossi, C.F. {v}",
                                         '{{"codice_fiscale": "{v}"}}'), True),
    K("IT_VAT_CODE", it_vat, ("Partita IVA: {v}", "Fornitore ACME S.r.l., P.IVA {v}", '{{"piva": "{v}"}}'), True),
    K("IT_IDENTITY_CARD", it_identity_card, ("Carta d'identità n. {v}", "Documento: carta di identità {v}",
                                             "Identity card {v}"), False),
    K("PL_PESEL", pl_pesel, ("PESEL: {v}", "Pracownik Jan Kowalski, numer PESEL {v}", '{{"pesel": "{v}"}}'), True),
    K("SE_PERSONNUMMER", se_personnummer, ("Personnummer: {v}", "Anställd Anna Svensson, personnr {v}",
                                           '{{"personnummer": "{v}"}}'), True),
    K("SE_ORGANISATIONSNUMMER", se_organisationsnummer, ("Organisationsnummer: {v}", "Leverantör Bygg AB, org.nr {v}",
                                                         '{{"orgnr": "{v}"}}'), True),
    K("FI_PERSONAL_IDENTITY_CODE", fi_hetu, ("Henkilötunnus: {v}", "Työntekijä Matti Virtanen, hetu {v}",
                                             '{{"hetu": "{v}"}}'), True),
    K("IN_AADHAAR", in_aadhaar, ("Aadhaar: {v}", "Employee Priya Sharma, Aadhaar number {v}",
                                 "आधार संख्या: {v}", '{{"aadhaar": "{v}"}}'), True),
    K("IN_PAN", in_pan, ("PAN: {v}", "PAN card number {v} for TDS", '{{"pan_number": "{v}"}}'), False),
    K("IN_GSTIN", in_gstin, ("GSTIN: {v}", "Supplier GST registration {v}", '{{"gstin": "{v}"}}'), True),
    K("IN_VOTER", in_voter, ("Voter ID: {v}", "EPIC no. {v}", "मतदाता पहचान पत्र {v}"), False),
    K("SG_NRIC_FIN", sg_nric, ("NRIC: {v}", "Employee Tan Wei Ming, NRIC {v}", '{{"nric": "{v}"}}'), True),
    K("SG_UEN", sg_uen, ("UEN: {v}", "Vendor Lion Pte Ltd (UEN {v})", "ACRA UEN {v}"), True),
    K("AU_TFN", au_tfn, ("TFN: {v}", "Employee tax file number {v}", '{{"tfn": "{v}"}}'), True),
    K("AU_ABN", au_abn, ("ABN: {v}", "Supplier Acme Pty Ltd (ABN {v})", "Australian Business Number {v}"), True),
    K("AU_ACN", au_acn, ("ACN: {v}", "Acme Pty Ltd (ACN {v})", "Australian Company Number {v}"), False),
    K("AU_MEDICARE", au_medicare, ("Medicare number: {v}", "Patient medicare card {v}", '{{"medicare": "{v}"}}'), True,
      check_at=8),
    K("JP_MY_NUMBER", jp_my_number, ("マイナンバー: {v}", "個人番号 {v}", "My Number: {v}", '{{"my_number": "{v}"}}'),
      False),
    K("CN_RESIDENT_ID", cn_resident_id, ("身份证号码：{v}", "员工 张伟，公民身份号码 {v}", "Resident ID {v}",  # noqa: RUF001
                                         '{{"身份证": "{v}"}}'), True),
    K("TH_NATIONAL_ID", th_national_id, ("เลขประจำตัวประชาชน {v}", "Thai national ID: {v}", "บัตรประชาชน {v}"), False),
    K("CA_SIN", ca_sin, ("SIN: {v}", "Employee social insurance number {v}", "Numéro d'assurance sociale : {v}",
                         '{{"sin_number": "{v}"}}'), True),
    K("US_DRIVER_LICENSE", us_driver_license, ("Driver's license: {v}", "DL# {v}", "driver license number {v}"), False),
    K("US_NPI", us_npi, ("NPI: {v}", "Provider Dr. Lee, National Provider Identifier {v}", '{{"npi": "{v}"}}'), True),
    K("NG_NIN", ng_nin, ("NIN: {v}", "NIMC national identity number {v}", '{{"nin_number": "{v}"}}'), False),
    K("ZA_ID", za_id, ("ID number: {v}", "Werknemer Johan Botha, ID-nommer {v}", "South African ID {v}"), True),
    K("TR_NATIONAL_ID", tr_national_id, ("T.C. Kimlik No: {v}", "Personel Ayşe Yılmaz, TCKN {v}",  # noqa: RUF001
                                         '{{"tc_kimlik_no": "{v}"}}'), True),
    K("CRYPTO_WALLET", crypto_wallet, ("Payout wallet: {v}", "send the refund to the BTC address {v}",
                                       '{{"btc_address": "{v}"}}'), True),
    K("URL", url, ("Profile: {v}", "see {v} for details", '{{"link": "{v}"}}'), False,
      lookalikes=("/var/www/html/index.php", "hxxp://example[.]com/login", "C:\\Program Files\\App\\app.exe",
                  "the file:// scheme", "version 1.2.3 of www")),
)

# Neutral text for look-alikes: no identifier context word.
NEUTRAL = ("Order {v} shipped on Monday.", "Invoice {v} paid in full.", "Ticket {v} resolved by support.",
           '{{"order_id": "{v}", "status": "delivered"}}', "Tracking {v}, parcel 2 of 3.")


def wrong_check(rng: random.Random, value: str, check_at: int = -1) -> str:
    """The value with its check character (the ``check_at``-th alphanumeric one) changed."""
    i = [j for j, c in enumerate(value) if c.isalnum()][check_at]
    c = value[i]
    pool = DIGITS if c.isdigit() else UPPER if c.isupper() else string.ascii_lowercase
    return value[:i] + rng.choice([x for x in pool if x != c]) + value[i + 1:]


def labelled_decoys(rng: random.Random, value: str) -> list[tuple[str, str]]:
    """(kind, decoy): a date, phone-shaped numbers and an order number with the value's digit
    count, and the value's own shape (letters and separators kept) with its digits drawn at random."""
    n = sum(c.isdigit() for c in value)
    out = []
    d = _birth(rng, 1990, 2024)
    dates = {8: f"{d:%Y%m%d}", 6: f"{d:%d%m%y}", 12: f"{d:%Y%m%d}{rng.randint(0, 2359):04d}",
             14: f"{d:%Y%m%d}{rng.randint(0, 235959):06d}", 10: f"{d:%Y-%m-%d}", 9: f"{d:%Y%m%d}{rng.randint(0, 9)}",
             11: f"{d:%Y%m%d}{rng.randint(0, 999):03d}", 13: f"{d:%Y%m%d}{rng.randint(0, 99999):05d}"}
    if n in dates:
        out.append(("intl-date", dates[n]))
    if 9 <= n <= 13:
        phone = "0" + rng.choice("123456789") + _digits(rng, n - 2)
        out.append(("intl-phone-shaped", phone))
        out.append(("intl-phone-shaped", " ".join([phone[:3], phone[3:6], phone[6:]])))
    if n >= 4:
        out.append(("intl-order-number", str(rng.randint(1, 9)) + _digits(rng, n - 1)))
    out.append(("intl-same-shape", "".join(rng.choice(DIGITS) if c.isdigit() else c for c in value)))
    return out


def same_length_decoys(rng: random.Random, value: str) -> list[str]:
    """Dates, phone numbers and order numbers with the value's digit count and grouping."""
    return [v for _, v in labelled_decoys(rng, value)]


# --- the labelled benchmark's held-out labels (icap_dlp/evaluate/generate.py) ---
# Field names and label words a real export or form would carry, written apart from the tuning
# contexts of KINDS (which the detectors were tuned on): per entity type, two field names (JSON
# keys, CSV headers, ``key=`` log fields), two prose labels (the country's language where it has
# one) and a Korean label, as a Korean company's records of its foreign staff and suppliers write
# it (a Korean word, with the local term or acronym in parentheses where Korean records add it).
HELDOUT_LABELS: dict[str, tuple[tuple[str, str], tuple[str, str], str]] = {
    "UK_NINO": (("ni_no", "nino_number"), ("NI No.", "Nat. Insurance No."), "영국 국민보험번호(NI)"),
    "UK_NHS": (("patient_nhs_no", "nhs_id"), ("NHS No.", "Patient NHS ID"), "NHS 번호"),
    "UK_DRIVING_LICENCE": (("licence_number", "dvla_licence"), ("Driving Licence No.", "DVLA licence"),
                           "영국 운전면허(driving licence)"),
    "UK_POSTCODE": (("post_code", "address_postcode"), ("Post code", "Postcode"), "영국 우편번호(postcode)"),
    "DE_TAX_ID": (("steuerliche_idnr", "de_tin"), ("Steuerliche Identifikationsnummer", "IdNr."),
                  "독일 납세자번호(Steuer-ID)"),
    "DE_TAX_NUMBER": (("st_nr", "finanzamt_steuernummer"), ("St.-Nr.", "Steuernummer (Finanzamt)"),
                      "독일 세금번호(Steuernummer)"),
    "DE_VAT_ID": (("ust_idnr", "vat_number"), ("USt-IdNr", "Umsatzsteuer-Identifikationsnummer"),
                  "독일 부가세 번호(USt-IdNr.)"),
    "DE_HEALTH_INSURANCE": (("kv_nummer", "krankenversichertennr"), ("Versichertennummer", "KV-Nr."),
                            "독일 건강보험 번호(KVNR)"),
    "DE_ID_CARD": (("ausweisnummer", "personalausweis_nr"), ("Personalausweisnummer", "Ausweis-Nr."),
                   "독일 신분증 번호(Personalausweis)"),
    "DE_SOCIAL_SECURITY": (("sv_nummer", "rentenversicherungsnummer"), ("SV-Nummer", "Rentenversicherungsnummer"),
                           "독일 사회보장번호(SV-Nummer)"),
    "ES_NIF": (("nif", "dni_numero"), ("NIF", "Número de DNI"), "스페인 신분증(DNI)"),
    "ES_NIE": (("nie_numero", "numero_extranjero"), ("NIE", "Número de Identidad de Extranjero"),
               "스페인 외국인 번호(NIE)"),
    "IT_FISCAL_CODE": (("cod_fiscale", "codicefiscale"), ("Cod. Fiscale", "CF"), "이탈리아 납세번호(codice fiscale)"),
    "IT_VAT_CODE": (("partita_iva", "p_iva"), ("P. IVA", "Partita I.V.A."), "이탈리아 부가세 번호(P.IVA)"),
    "IT_IDENTITY_CARD": (("numero_carta_identita", "cie_numero"), ("Carta d'identità elettronica n.",
                                                                   "Documento d'identità"),
                         "이탈리아 신분증(carta d'identità)"),
    "PL_PESEL": (("nr_pesel", "pesel_number"), ("Nr PESEL", "PESEL"), "폴란드 주민번호(PESEL)"),
    "SE_PERSONNUMMER": (("pnr", "person_nr"), ("Pers.nr", "Personnr."), "스웨덴 개인번호(personnummer)"),
    "SE_ORGANISATIONSNUMMER": (("org_nr", "organisationsnr"), ("Org.nr", "Organisationsnr"),
                               "스웨덴 법인번호(org.nr)"),
    "FI_PERSONAL_IDENTITY_CODE": (("henkilotunnus", "hetu_code"), ("Henkilötunnus", "HETU"),
                                  "핀란드 개인식별번호(henkilötunnus)"),
    "IN_AADHAAR": (("aadhaar_no", "uid_number"), ("Aadhaar No.", "UIDAI number"), "인도 아드하르(Aadhaar) 번호"),
    "IN_PAN": (("pan_no", "income_tax_pan"), ("PAN No.", "Permanent Account Number"), "인도 PAN 번호"),
    "IN_GSTIN": (("gst_no", "gstin_number"), ("GST No.", "GSTIN/UIN"), "인도 GST 번호"),
    "IN_VOTER": (("epic_no", "voter_id_number"), ("EPIC No.", "Voter ID card"), "인도 선거인 카드(EPIC)"),
    "SG_NRIC_FIN": (("nric_no", "fin_number"), ("NRIC/FIN", "NRIC No."), "싱가포르 신분증(NRIC)"),
    "SG_UEN": (("uen_no", "company_uen"), ("UEN No.", "Company UEN"), "싱가포르 사업자번호(UEN)"),
    "AU_TFN": (("tax_file_number", "tfn_no"), ("Tax File Number", "TFN"), "호주 납세자번호(TFN)"),
    "AU_ABN": (("abn_no", "business_abn"), ("ABN", "Australian Business No."), "호주 사업자번호(ABN)"),
    "AU_ACN": (("acn_no", "company_acn"), ("ACN", "Australian Company No."), "호주 법인번호(ACN)"),
    "AU_MEDICARE": (("medicare_no", "medicare_card_number"), ("Medicare No.", "Medicare card"),
                    "호주 메디케어(Medicare) 번호"),
    "JP_MY_NUMBER": (("kojin_bango", "mynumber"), ("個人番号（マイナンバー）", "マイナンバー"),  # noqa: RUF001
                     "일본 마이넘버"),
    "CN_RESIDENT_ID": (("id_card_no", "shenfenzheng"), ("身份证号", "居民身份证"), "중국 신분증번호"),
    "TH_NATIONAL_ID": (("thai_id", "citizen_id"), ("เลขบัตรประชาชน", "Thai citizen ID"), "태국 신분증번호"),
    "CA_SIN": (("sin_no", "social_insurance_number"), ("SIN", "NAS (numéro d'assurance sociale)"),
               "캐나다 사회보험번호(SIN)"),
    "US_DRIVER_LICENSE": (("dl_number", "drivers_license_no"), ("Driver License #", "DL No."),
                          "미국 운전면허번호(driver license)"),
    "US_NPI": (("npi_number", "provider_npi"), ("NPI #", "Provider NPI"), "미국 의료인 번호(NPI)"),
    "NG_NIN": (("nin_no", "national_identification_number"), ("NIN", "National Identification Number"),
               "나이지리아 국민식별번호(NIN)"),
    "ZA_ID": (("id_number", "sa_id_no"), ("ID No.", "SA ID number"), "남아공 신분증(ID number)"),
    "TR_NATIONAL_ID": (("tc_kimlik", "tckn_no"), ("TC Kimlik No", "T.C. Kimlik Numarası"),  # noqa: RUF001
                       "터키 신분번호(TC Kimlik)"),
    "CRYPTO_WALLET": (("wallet_address", "payout_wallet"), ("Wallet", "BTC/ETH address"), "암호화폐 지갑 주소"),
}

# Korean names of the countries, for the Korean records of the tuning split (``일본 직원`` ...).
KO_COUNTRY = {"UK": "영국", "DE": "독일", "ES": "스페인", "IT": "이탈리아", "PL": "폴란드",
              "SE": "스웨덴", "FI": "핀란드", "IN": "인도", "SG": "싱가포르", "AU": "호주",
              "JP": "일본", "CN": "중국", "TH": "태국", "CA": "캐나다", "US": "미국",
              "NG": "나이지리아", "ZA": "남아공", "TR": "터키", "CRYPTO": "해외"}

# The benchmark's international entity types: every KIND but URL, which no shipped policy redacts
# (a URL is not personal data; credentials inside one are, and have their own detectors).
BENCH_KINDS = tuple(k for k in KINDS if k.entity_type != "URL")


def country(entity_type: str) -> str:
    return entity_type.split("_", 1)[0]


COUNTRIES: dict[str, tuple[Kind, ...]] = {}
for _k in BENCH_KINDS:
    COUNTRIES[country(_k.entity_type)] = (*COUNTRIES.get(country(_k.entity_type), ()), _k)
del _k
