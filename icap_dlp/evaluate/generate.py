"""A seeded, deterministic generator of labelled MCP tool outputs (the project's own benchmark).

``python -m icap_dlp.evaluate.generate OUT.jsonl --seed 7 --cases 400 [--split tuning|heldout|all]
[--templates intl-]``

Realistic tool outputs (CRM records as JSON, CSV and prose; logs; config and ``.env`` dumps; git
logs; SQL rows; HTML pages; documentation with example keys and certificates; Korean prose and
tables) are wrapped in every MCP container (content text, ``structuredContent``, resources, SSE,
JSON-RPC batch, gzip) and labelled: the sensitive values they hold and the look-alikes (versions,
hashes, UUIDs, order and invoice numbers, timestamps, URLs without credentials, certificates,
documentation-range IPs, IBANs and cards with a bad checksum) that must survive. The ``intl-``
templates hold the national, tax and health identifiers of other countries (valid by their
issuer's algorithm, :mod:`icap_dlp.evaluate._intl`) under field names, table headers and labels
in the country's language or in Korean, beside same-length look-alikes (a wrong check character,
dates, order and phone-shaped numbers).

Guards against grading our own homework:
- templates are split into a **tuning** set (detectors and scores were tuned on these) and a
  **held-out** set (nobody tunes on them; figures in the README come from it, with a seed not used
  while tuning);
- person names come from Faker (en_US, ko_KR, de_DE, fr_FR, nl_NL), never from a detector's
  table; the Korean name detector holds surnames and common words only, no given names.

Faker is pinned in pyproject (``dev`` extra): another Faker version may draw other values for the
same seed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import json
import random
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from icap_dlp.evaluate import _intl
from icap_dlp.evaluate._corpus import Case, Label, dump_cases

TYPES_STRUCTURED = ("EMAIL_ADDRESS", "PHONE_NUMBER", "US_SSN", "CREDIT_CARD", "IBAN", "KR_RRN", "PRIVATE_IP")
TYPES_CREDENTIAL = ("AWS_ACCESS_KEY_ID", "GITHUB_TOKEN", "PASSWORD")
TYPES_NAMES = ("PERSON", "STREET_ADDRESS", "KR_PERSON_NAME")
# National, tax and health identifiers of other countries (detectors/uk.yaml, eu.yaml, apac.yaml ...)
TYPES_INTL = tuple(k.entity_type for k in _intl.BENCH_KINDS)

_AREA = (201, 202, 206, 212, 213, 303, 305, 312, 404, 415, 503, 512, 602, 617, 646, 702, 713, 718, 805, 917)


@dataclass
class Doc:
    """One tool output under construction: text or a JSON record, with its labels."""

    text: str = ""
    record: dict[str, Any] | None = None
    sensitive: list[Label] = field(default_factory=list)
    lookalikes: list[Label] = field(default_factory=list)
    mime: str = "text/plain"

    def s(self, kind: str, value: str) -> str:
        self.sensitive.append(Label(kind, value))
        return value

    def lk(self, kind: str, value: str) -> str:
        self.lookalikes.append(Label(kind, value))
        return value


class Gen:
    """Value makers on one seeded random source and seeded Faker instances."""

    def __init__(self, seed: int) -> None:
        from faker import Faker

        self.rng = random.Random(seed)
        self.fakers = {loc: Faker(loc) for loc in ("en_US", "ko_KR", "de_DE", "fr_FR", "nl_NL")}
        for i, f in enumerate(self.fakers.values()):
            f.seed_instance(seed * 31 + i)
        self._intl_next = 0

    @property
    def en(self) -> Any:
        return self.fakers["en_US"]

    @property
    def ko(self) -> Any:
        return self.fakers["ko_KR"]

    def eu(self) -> Any:
        return self.fakers[self.rng.choice(("de_DE", "fr_FR", "nl_NL"))]

    # -- sensitive values ------------------------------------------------------------------
    def phone(self, form: str | None = None) -> str:
        import phonenumbers

        r = self.rng
        while True:
            a, ex, line = r.choice(_AREA), r.randint(200, 999), r.randint(0, 9999)
            if ex % 100 == 11 or ex == 555:
                continue
            n = phonenumbers.parse(f"+1{a}{ex}{line:04d}")
            if phonenumbers.is_valid_number(n):
                break
        form = form or r.choice(("paren", "dash", "dot", "space", "one", "plus"))
        return {"paren": f"({a}) {ex}-{line:04d}", "dash": f"{a}-{ex}-{line:04d}", "dot": f"{a}.{ex}.{line:04d}",
                "space": f"{a} {ex} {line:04d}", "one": f"1-{a}-{ex}-{line:04d}",
                "plus": f"+1 {a} {ex} {line:04d}"}[form]

    def email(self, name: str | None = None) -> str:
        f = self.en
        user = (name or f.user_name()).lower().replace(" ", ".")
        user = "".join(ch for ch in user if ch.isascii() and (ch.isalnum() or ch in "._-")) or f.user_name()
        return f"{user}{self.rng.randint(1, 99)}@{f.free_email_domain() if self.rng.random() < .5 else f.domain_name()}"

    def ssn(self) -> str:
        r = self.rng
        while True:
            area, group, serial = r.randint(1, 899), r.randint(1, 99), r.randint(1, 9999)
            if area != 666:
                return f"{area:03d}-{group:02d}-{serial:04d}"

    def card(self, valid: bool = True) -> str:
        r = self.rng
        prefix = r.choice(("4", "51", "52", "53", "54", "55"))
        digits = [int(c) for c in prefix] + [r.randint(0, 9) for _ in range(15 - len(prefix))]
        total = 0
        for i, d in enumerate(reversed(digits)):
            d2 = d * 2 if i % 2 == 0 else d
            total += d2 - 9 if d2 > 9 else d2
        check = (10 - total % 10) % 10
        digits.append(check if valid else (check + r.randint(1, 9)) % 10)
        s = "".join(map(str, digits))
        return " ".join(s[i:i + 4] for i in range(0, 16, 4)) if r.random() < 0.6 else s

    def iban(self, valid: bool = True) -> str:
        value: str = self.eu().iban()
        if not valid:
            last = int(value[-1])
            value = value[:-1] + str((last + self.rng.randint(1, 9)) % 10)
        if self.rng.random() < 0.5:
            value = " ".join(value[i:i + 4] for i in range(0, len(value), 4))
        return value

    def rrn(self, hyphen: bool = True) -> str:
        r = self.rng
        born = dt.date(1950, 1, 1) + dt.timedelta(days=r.randint(0, 365 * 55))
        g = r.choice("12") if born.year < 2000 else r.choice("34")
        d = born.strftime("%y%m%d") + g + "".join(str(r.randint(0, 9)) for _ in range(5))
        w = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
        check = (11 - sum(int(c) * x for c, x in zip(d, w, strict=True)) % 11) % 10
        d += str(check)
        return f"{d[:6]}-{d[6:]}" if hyphen else d

    def private_ip(self) -> str:
        r = self.rng
        return r.choice((f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
                         f"192.168.{r.randint(0, 255)}.{r.randint(1, 254)}",
                         f"172.{r.randint(16, 31)}.{r.randint(0, 255)}.{r.randint(1, 254)}"))

    def aws_key(self) -> str:
        return "AKIA" + "".join(self.rng.choice(string.ascii_uppercase + "234567") for _ in range(16))

    def github_token(self) -> str:
        return "ghp_" + "".join(self.rng.choice(string.ascii_letters + string.digits) for _ in range(36))

    def password(self) -> str:
        alphabet = string.ascii_letters + string.digits + "!#%^*-_"
        return "".join(self.rng.choice(alphabet) for _ in range(self.rng.randint(14, 22)))

    def intl_country(self) -> tuple[str, tuple[_intl.Kind, ...]]:
        """The next country (round robin, so every identifier type gets its share of cases)."""
        names = list(_intl.COUNTRIES)
        name = names[self._intl_next % len(names)]
        self._intl_next += 1
        return name, _intl.COUNTRIES[name]

    def intl_decoys(self, kind: _intl.Kind, value: str) -> list[tuple[str, str]]:
        """(kind, value) look-alikes of one identifier: the value with its check character changed
        (where it has one), and a date, an order number or a phone-shaped number of its length."""
        out = [("intl-bad-check", _intl.wrong_check(self.rng, value, kind.check_at))] if kind.checked else []
        # The value's shape with random digits is a valid identifier when it has no check
        # character (or passes by chance): never a look-alike here.
        # ... nor is a bare 01x number of 10-11 digits (a Korean mobile number, 010-1234-5678
        # written without its hyphens).
        same_length = [x for x in _intl.labelled_decoys(self.rng, value) if x[0] != "intl-same-shape"
                       and not (x[0] == "intl-phone-shaped" and x[1].startswith("01"))]
        if same_length:
            out.append(self.rng.choice(same_length))
        return out

    # -- look-alikes -----------------------------------------------------------------------
    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def sha256(self) -> str:
        return hashlib.sha256(self.rng.randbytes(16)).hexdigest()

    def timestamp(self) -> str:
        t = dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=self.rng.randint(0, 60_000_000))
        return t.isoformat().replace("+00:00", "Z")

    def version(self) -> str:
        r = self.rng
        return r.choice((f"{r.randint(1, 20)}.{r.randint(0, 30)}.{r.randint(0, 40)}+build.{r.randint(1, 999)}",
                         f"v{r.randint(1, 30)}.{r.randint(0, 30)}.{r.randint(0, 30)}",
                         f"{r.randint(1, 9)}.{r.randint(0, 99)}.{r.randint(0, 999)}"))

    def order_number(self, digits: int = 9) -> str:
        return str(self.rng.randint(10 ** (digits - 1), 10 ** digits - 1))

    def doc_ip(self) -> str:
        r = self.rng
        return f"{r.choice(('192.0.2', '198.51.100', '203.0.113'))}.{r.randint(1, 254)}"

    def clean_url(self) -> str:
        r = self.rng
        host = r.choice(("cache", "db", "queue", "search", "auth")) + f"{r.randint(1, 9)}." + \
            r.choice(("internal", "corp", "prod.internal", "svc.local"))
        return r.choice((f"redis://{host}:6379/{r.randint(0, 15)}",
                         f"jdbc:postgresql://{host}:5432/app?sslmode=require",
                         f"https://{host}/api/v{r.randint(1, 3)}/health", f"amqp://{host}:5672/vhost"))

    def certificate(self) -> str:
        """A real self-signed Ed25519 certificate (deterministic: Ed25519 signatures are)."""
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
        from cryptography.x509.oid import NameOID

        key = ed25519.Ed25519PrivateKey.from_private_bytes(self.rng.randbytes(32))
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"svc{self.rng.randint(1, 999)}.example.com")])
        start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(self.rng.getrandbits(64)).not_valid_before(start)
                .not_valid_after(start + dt.timedelta(days=365)).sign(key, None))
        return cert.public_bytes(serialization.Encoding.PEM).decode().strip()


Template = Callable[[Gen], Doc]


def crm_json(g: Gen) -> Doc:
    d = Doc()
    name = g.en.name()
    d.record = {"customer_id": d.lk("uuid", g.uuid()), "name": name, "email": d.s("EMAIL_ADDRESS", g.email(name)),
                "phone": d.s("PHONE_NUMBER", g.phone()), "ssn": d.s("US_SSN", g.ssn().replace("-", "")),
                "card_on_file": d.s("CREDIT_CARD", g.card()), "created_at": d.lk("timestamp", g.timestamp()),
                "last_order": d.lk("order-number", g.order_number(9)), "plan": "pro",
                "client_version": d.lk("version", g.version())}
    d.s("PERSON", name)
    return d


def crm_csv(g: Gen) -> Doc:
    d = Doc(mime="text/csv")
    rows = ["id,name,email,phone,ssn,order_id"]
    for i in range(g.rng.randint(2, 4)):
        name = d.s("PERSON", g.en.name())
        rows.append(f"{i + 1},{name},{d.s('EMAIL_ADDRESS', g.email(name))},"
                    f"{d.s('PHONE_NUMBER', g.phone(g.rng.choice(('dot', 'dash', 'space', 'paren'))))},"
                    f"{d.s('US_SSN', g.ssn())},{d.lk('order-number', g.order_number(9))}")
    d.text = "\n".join(rows) + "\n"
    return d


def app_log(g: Gen) -> Doc:
    d = Doc()
    lines = []
    for _ in range(g.rng.randint(3, 6)):
        ts = d.lk("timestamp", g.timestamp())
        lines.append(f"{ts} INFO request_id={d.lk('uuid', g.uuid())} client={d.s('PRIVATE_IP', g.private_ip())} "
                     f"user={d.s('EMAIL_ADDRESS', g.email())} status=200 upstream={d.lk('clean-url', g.clean_url())}")
    lines.append(f"{d.lk('timestamp', g.timestamp())} WARN build={d.lk('version', g.version())} "
                 f"checksum={d.lk('sha256', g.sha256())} edge={d.lk('doc-ip', g.doc_ip())}")
    d.text = "\n".join(lines)
    return d


def env_dump(g: Gen) -> Doc:
    d = Doc()
    pw = g.password()
    d.text = "\n".join([
        "# .env (production)",
        f"AWS_ACCESS_KEY_ID={d.s('AWS_ACCESS_KEY_ID', g.aws_key())}",
        f"GITHUB_TOKEN={d.s('GITHUB_TOKEN', g.github_token())}",
        f"DATABASE_URL=postgres://app:{d.s('PASSWORD', pw)}@{d.s('PRIVATE_IP', g.private_ip())}:5432/app",
        f"REDIS_URL={d.lk('clean-url', g.clean_url())}",
        f"APP_VERSION={d.lk('version', g.version())}",
        f"BUILD_SHA={d.lk('sha256', g.sha256())}",
        f"INSTANCE_ID={d.lk('uuid', g.uuid())}",
    ])
    return d


def korean_prose(g: Gen) -> Doc:
    d = Doc()
    name = d.s("KR_PERSON_NAME", g.ko.name())
    phone = d.s("PHONE_NUMBER", g.ko.phone_number() if g.rng.random() < .3 else
                f"010-{g.rng.randint(1000, 9999)}-{g.rng.randint(1000, 9999)}")
    rrn = d.s("KR_RRN", g.rrn())
    order = d.lk("order-number", g.order_number(13))
    d.text = g.rng.choice((
        f"고객 {name}님의 연락처는 {phone}이고 주민등록번호는 {rrn}입니다. "
        f"이번 주 주문번호 {order} 건의 정보를 확인했습니다.",
        f"담당자 {name}({phone})가 신청서를 접수했습니다. 주민등록번호: {rrn}. 주문 {order}은 배송 준비 중입니다.",
    ))
    return d


def docs_with_cert(g: Gen) -> Doc:
    d = Doc(mime="text/markdown")
    cert = d.lk("certificate", g.certificate())
    d.text = (f"## TLS setup\n\nThe service presents this certificate (version {d.lk('version', g.version())}):\n\n"
              f"```\n{cert}\n```\n\nPin its SHA-256 `{d.lk('sha256', g.sha256())}`; clients in "
              f"{d.lk('doc-ip', g.doc_ip())}/24 connect to {d.lk('clean-url', g.clean_url())}.\n")
    return d


def crm_prose(g: Gen) -> Doc:
    d = Doc()
    name = d.s("PERSON", g.en.name())
    addr = d.s("STREET_ADDRESS", g.en.street_address())
    d.text = (f"Spoke with {name} today about invoice {d.lk('invoice-number', g.order_number(13))}. "
              f"Best phone is {d.s('PHONE_NUMBER', g.phone())} and email {d.s('EMAIL_ADDRESS', g.email(name))}. "
              f"Ship the replacement to {addr}, {g.en.city()}. The old card {d.lk('bad-card', g.card(valid=False))} "
              f"was declined; the new one is {d.s('CREDIT_CARD', g.card())}. Ticket {d.lk('uuid', g.uuid())}.")
    return d


def sql_rows(g: Gen) -> Doc:
    d = Doc()
    rows = []
    for _ in range(g.rng.randint(2, 3)):
        name = d.s("PERSON", g.eu().name())
        rows.append(f"({g.rng.randint(1000, 9999)}, '{name}', '{d.s('EMAIL_ADDRESS', g.email(name))}', "
                    f"'{d.s('IBAN', g.iban())}', '{d.lk('bad-iban', g.iban(valid=False))}', "
                    f"'{d.lk('timestamp', g.timestamp())}')")
    d.text = ("INSERT INTO payees (id, name, email, iban, old_iban, updated_at) VALUES\n"
              + ",\n".join(rows) + ";\n-- " + str(len(rows)) + " rows, migration " + d.lk("version", g.version()))
    return d


def git_log(g: Gen) -> Doc:
    d = Doc()
    out = []
    for _ in range(g.rng.randint(2, 4)):
        name = d.s("PERSON", g.en.name())
        out.append(f"commit {d.lk('sha1', g.sha256()[:40])}\nAuthor: {name} <{d.s('EMAIL_ADDRESS', g.email(name))}>\n"
                   f"Date:   {d.lk('timestamp', g.timestamp())}\n\n"
                   f"    Bump dependency to {d.lk('version', g.version())}\n")
    d.text = "\n".join(out)
    return d


def yaml_config(g: Gen) -> Doc:
    d = Doc()
    d.text = "\n".join([
        "service:",
        f"  image: registry.example.com/app:{d.lk('version', g.version())}",
        f"  upstream: {d.lk('clean-url', g.clean_url())}",
        "database:",
        f"  host: {d.s('PRIVATE_IP', g.private_ip())}",
        "  user: app",
        f"  password: {d.s('PASSWORD', g.password())}",
        "alerts:",
        f"  oncall_phone: {d.s('PHONE_NUMBER', g.phone(g.rng.choice(('dot', 'dash', 'space'))))}",
        f"  oncall_email: {d.s('EMAIL_ADDRESS', g.email())}",
        f"  runbook_id: {d.lk('uuid', g.uuid())}",
    ])
    return d


def korean_table(g: Gen) -> Doc:
    d = Doc(mime="text/markdown")
    rows = ["| 이름 | 연락처 | 주민등록번호 | 주문번호 |", "|---|---|---|---|"]
    for _ in range(g.rng.randint(2, 3)):
        rows.append(f"| {d.s('KR_PERSON_NAME', g.ko.name())} | "
                    f"{d.s('PHONE_NUMBER', f'010-{g.rng.randint(1000, 9999)}-{g.rng.randint(1000, 9999)}')} | "
                    f"{d.s('KR_RRN', g.rrn(hyphen=g.rng.random() < .5))} | "
                    f"{d.lk('order-number', g.order_number(13))} |")
    d.text = "고객 목록입니다.\n\n" + "\n".join(rows) + "\n"
    return d


def html_page(g: Gen) -> Doc:
    d = Doc(mime="text/html")
    cells = []
    for _ in range(g.rng.randint(2, 3)):
        name = d.s("PERSON", g.en.name())
        cells.append(f"<tr><td>{name}</td><td>{d.s('PHONE_NUMBER', g.phone('dot'))}</td>"
                     f"<td>{d.s('EMAIL_ADDRESS', g.email(name))}</td>"
                     f"<td>{d.lk('order-number', g.order_number(9))}</td></tr>")
    d.text = ("<html><body><h1>Contacts</h1><table><tr><th>Name</th><th>Phone</th><th>Email</th><th>Order</th></tr>"
              + "".join(cells) + "</table></body></html>")
    return d


# -- national, tax and health identifiers of other countries -----------------------------------
# Tuning templates write the contexts the detectors were tuned on (_intl.KINDS); the held-out ones
# write _intl.HELDOUT_LABELS, which nobody tunes on. Each case holds the identifiers of one country
# (an HR, payroll or supplier record lists several), and beside each its look-alikes under neutral
# fields: the same value with a wrong check character, dates, order and phone-shaped numbers of the
# same length.
_NEUTRAL_KEYS = {"intl-bad-check": ("previous_ref", "old_ticket"), "intl-date": ("updated", "batch_date"),
                 "intl-order-number": ("order_id", "invoice_no"), "intl-phone-shaped": ("tracking_no", "parcel")}
_KO_NEUTRAL = {"intl-bad-check": "이전 참조번호", "intl-date": "처리일", "intl-order-number": "주문번호",
               "intl-phone-shaped": "송장번호"}


def _json_key(kind: _intl.Kind) -> str | None:
    """The field name of the value in the kind's JSON tuning context (``{"nino": "{v}"}`` -> nino)."""
    for c in kind.contexts:
        if c.startswith("{{"):
            head = c[:c.index('": "{v}"')]
            return head[head.rindex('"') + 1:]
    return None


def _prose(kind: _intl.Kind, i: int) -> str:
    texts = [c for c in kind.contexts if not c.startswith("{{")]
    return texts[i % len(texts)]


def _intl_people(g: Gen) -> tuple[str, tuple[_intl.Kind, ...], int]:
    name, kinds = g.intl_country()
    return name, kinds, g.rng.randint(2, 3)


def _intl_lines(g: Gen, d: Doc, kinds: tuple[_intl.Kind, ...], people: int,
                value_line: Callable[[int, _intl.Kind, str], str], decoy_line: Callable[[str, str], str]) -> list[str]:
    """Per person and identifier: a line with the labelled value, then one per labelled look-alike."""
    lines = []
    for p in range(people):
        for k in kinds:
            lines.append(value_line(p, k, d.s(k.entity_type, k.make(g.rng))))
            lines += [decoy_line(kind, d.lk(kind, v)) for kind, v in g.intl_decoys(k, k.make(g.rng))]
    return lines


def intl_hr_ticket(g: Gen) -> Doc:
    d = Doc()
    name, kinds, people = _intl_people(g)
    head = f"HR onboarding ticket {d.lk('uuid', g.uuid())} ({name} entity)\n"
    d.text = head + "\n".join(_intl_lines(
        g, d, kinds, people, lambda p, k, v: f"Employee {p + 1}: " + _prose(k, p + g.rng.randint(0, 3)).format(v=v),
        lambda _, v: "  " + g.rng.choice(_intl.NEUTRAL).format(v=v)))
    d.text += f"\nOpened {d.lk('timestamp', g.timestamp())}"
    return d


def intl_hr_json(g: Gen) -> Doc:
    d = Doc()
    name, kinds, people = _intl_people(g)
    staff = []
    for p in range(people):
        rec: dict[str, Any] = {"employee_id": f"E{g.rng.randint(10000, 99999)}", "country": name}
        for k in kinds:
            key = _json_key(k)
            value = d.s(k.entity_type, k.make(g.rng))
            if key:
                rec[key] = value
            else:
                rec.setdefault("notes", []).append(_prose(k, p).format(v=value))
            for kind, v in g.intl_decoys(k, k.make(g.rng)):
                rec.setdefault(_NEUTRAL_KEYS[kind][0], []).append(d.lk(kind, v))
        staff.append(rec)
    d.record = {"employees": staff, "synced_at": d.lk("timestamp", g.timestamp())}
    return d


def intl_korean_memo(g: Gen) -> Doc:
    d = Doc()
    name, kinds, people = _intl_people(g)
    d.text = f"{_intl.KO_COUNTRY[name]} 법인 직원 서류 확인 결과입니다.\n" + "\n".join(_intl_lines(
        g, d, kinds, people, lambda p, k, v: f"- {p + 1}번 직원: " + _prose(k, p).format(v=v),
        lambda kind, v: f"- {_KO_NEUTRAL[kind]} {v} 건은 처리 완료"))
    return d


def intl_payroll_csv(g: Gen) -> Doc:
    d = Doc(mime="text/csv")
    _, kinds, people = _intl_people(g)
    col = g.rng.randint(0, 1)
    rows = [",".join(["employee_id", *(_intl.HELDOUT_LABELS[k.entity_type][0][col] for k in kinds),
                      "order_id", "invoice_no", "updated"])]
    for _ in range(people):
        cells = [f"E{g.rng.randint(10000, 99999)}"]
        decoys: dict[str, list[tuple[str, str]]] = {}
        for k in kinds:
            cells.append(d.s(k.entity_type, k.make(g.rng)))
            for kind, v in g.intl_decoys(k, k.make(g.rng)):
                column = {"intl-date": "updated", "intl-order-number": "order_id"}.get(kind, "invoice_no")
                decoys.setdefault(column, []).append((kind, v))
        for column in ("order_id", "invoice_no", "updated"):  # one look-alike per cell
            pool = decoys.get(column)
            cells.append(d.lk(*g.rng.choice(pool)) if pool else "")
        rows.append(",".join(f'"{c}"' if "," in c else c for c in cells))
    d.text = "\n".join(rows) + "\n"
    return d


def intl_hr_export(g: Gen) -> Doc:
    d = Doc()
    name, kinds, people = _intl_people(g)
    col = g.rng.randint(0, 1)
    records = []
    for _ in range(people):
        rec: dict[str, Any] = {"id": d.lk("uuid", g.uuid()), "country_code": name}
        for k in kinds:
            rec[_intl.HELDOUT_LABELS[k.entity_type][0][col]] = d.s(k.entity_type, k.make(g.rng))
            for kind, v in g.intl_decoys(k, k.make(g.rng)):
                rec.setdefault(_NEUTRAL_KEYS[kind][1], []).append(d.lk(kind, v))
        records.append(rec)
    d.record = {"data": {"records": records, "page": 1, "exported_at": d.lk("timestamp", g.timestamp())},
                "schema_version": d.lk("version", g.version())}
    return d


def intl_audit_log(g: Gen) -> Doc:
    d = Doc()
    name, kinds, people = _intl_people(g)
    emps = [f"E{g.rng.randint(10000, 99999)}" for _ in range(people)]

    def value_line(p: int, k: _intl.Kind, v: str) -> str:
        keys, labels, _ = _intl.HELDOUT_LABELS[k.entity_type]
        ts = d.lk("timestamp", g.timestamp())
        return g.rng.choice((f"{ts} INFO hr.sync emp={emps[p]} country={name} {keys[0]}={v}",
                             f'{ts} INFO kyc.verify emp={emps[p]} msg="{labels[0]} {v} verified"'))

    d.text = "\n".join(_intl_lines(
        g, d, kinds, people, value_line,
        lambda kind, v: f"{d.lk('timestamp', g.timestamp())} DEBUG billing {_NEUTRAL_KEYS[kind][0]}={v} "
                        f"trace={d.lk('hex-id', g.sha256()[:16])}"))
    return d


def intl_case_note(g: Gen) -> Doc:
    d = Doc()
    name, kinds, people = _intl_people(g)
    d.text = f"Case {d.lk('uuid', g.uuid())}: document check for the {name} payroll. " + " ".join(_intl_lines(
        g, d, kinds, people,
        lambda p, k, v: f"The customer confirmed {_intl.HELDOUT_LABELS[k.entity_type][1][(p + 1) % 2]} {v}.",
        lambda _, v: f"Refund ref. {v} was closed."))
    return d


def intl_korean_hr(g: Gen) -> Doc:
    d = Doc(mime="text/markdown")
    name, kinds, people = _intl_people(g)
    d.text = f"## {_intl.KO_COUNTRY[name]} 국적 직원 등록 현황\n\n" + "\n".join(_intl_lines(
        g, d, kinds, people, lambda p, k, v: f"- 직원 {p + 1}의 {_intl.HELDOUT_LABELS[k.entity_type][2]}: {v}",
        lambda kind, v: f"- {_KO_NEUTRAL[kind]}: {v}")) + "\n"
    return d


TUNING: dict[str, Template] = {"crm-json": crm_json, "crm-csv": crm_csv, "app-log": app_log, "env-dump": env_dump,
                               "korean-prose": korean_prose, "docs-with-cert": docs_with_cert,
                               "intl-hr-ticket": intl_hr_ticket, "intl-hr-json": intl_hr_json,
                               "intl-korean-memo": intl_korean_memo}
HELDOUT: dict[str, Template] = {"crm-prose": crm_prose, "sql-rows": sql_rows, "git-log": git_log,
                                "yaml-config": yaml_config, "korean-table": korean_table, "html-page": html_page,
                                "intl-payroll-csv": intl_payroll_csv, "intl-hr-export": intl_hr_export,
                                "intl-audit-log": intl_audit_log, "intl-case-note": intl_case_note,
                                "intl-korean-hr": intl_korean_hr}
CONTAINERS = ("text", "structured", "resource", "sse", "batch", "gzip")


def _response(i: int, doc: Doc, container: str) -> dict[str, Any]:
    text = doc.text if doc.record is None else json.dumps(doc.record, ensure_ascii=False, indent=1)
    if container == "structured" and doc.record is not None:
        return {"jsonrpc": "2.0", "id": i, "result": {"content": [{"type": "text", "text": "1 record"}],
                                                       "structuredContent": doc.record}}
    if container == "resource":
        return {"jsonrpc": "2.0", "id": i, "result": {"contents": [
            {"uri": f"file:///exports/{i}.txt", "mimeType": doc.mime, "text": text}]}}
    return {"jsonrpc": "2.0", "id": i, "result": {"content": [{"type": "text", "text": text}]}}


def make_case(g: Gen, n: int, name: str, template: Template, split: str) -> Case:
    doc = template(g)
    container = g.rng.choice(CONTAINERS)
    msg = _response(n, doc, "structured" if container in ("structured", "gzip") and doc.record else
                    ("resource" if container == "resource" else "text"))
    ctype, encoding = "application/json", None
    if container == "sse":
        body = f"event: message\ndata: {json.dumps(msg, ensure_ascii=False)}\n\n".encode()
        ctype = "text/event-stream"
    elif container == "batch":
        other = {"jsonrpc": "2.0", "id": n + 100000, "result": {"content": [{"type": "text", "text": "ok"}]}}
        body = json.dumps([other, msg], ensure_ascii=False).encode()
    elif container == "gzip":
        body = gzip.compress(json.dumps(msg, ensure_ascii=False).encode(), mtime=0)
        encoding = "gzip"
    else:
        body = json.dumps(msg, ensure_ascii=False).encode()
    return Case(id=f"{name}-{n:04d}-{container}", body=body, content_type=ctype, content_encoding=encoding,
                template=name, split=split, sensitive=tuple(doc.sensitive), lookalikes=tuple(doc.lookalikes))


def generate(seed: int, cases: int, split: str = "all", prefix: str = "") -> list[Case]:
    """``cases`` cases drawn round-robin from the templates of ``split`` (tuning, heldout, all)
    whose names start with ``prefix`` (``intl-``: the international identifiers only)."""
    g = Gen(seed)
    chosen = [(n, t, "tuning") for n, t in TUNING.items()] if split in ("tuning", "all") else []
    chosen += [(n, t, "heldout") for n, t in HELDOUT.items()] if split in ("heldout", "all") else []
    if split not in ("tuning", "heldout", "all"):
        raise ValueError(f"unknown split {split!r} (tuning, heldout, all)")
    chosen = [c for c in chosen if c[0].startswith(prefix)]
    if not chosen:
        raise ValueError(f"no template of split {split!r} starts with {prefix!r}")
    return [make_case(g, i, *chosen[i % len(chosen)]) for i in range(cases)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m icap_dlp.evaluate.generate", description=__doc__.split("\n")[0])
    ap.add_argument("out", help="output file (JSON Lines)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--cases", type=int, default=400)
    ap.add_argument("--split", choices=("tuning", "heldout", "all"), default="all")
    ap.add_argument("--templates", default="", metavar="PREFIX", help="only the templates named PREFIX... (intl-)")
    args = ap.parse_args(argv)
    dump_cases(generate(args.seed, args.cases, args.split, args.templates), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
