"""The labelled benchmark: corpus format, generator, ``icap-dlp eval`` and the per-type floors CI
holds the shipped policies to, through the inspection and through the real server."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from icap_dlp.config import load_settings
from icap_dlp.errors import ConfigError
from icap_dlp.evaluate import Case, Label, Report, dump_cases, evaluate, load_corpus, visible_text
from icap_dlp.evaluate._eval import icap_inspector, local_inspector
from icap_dlp.evaluate.generate import TYPES_CREDENTIAL, TYPES_INTL, TYPES_STRUCTURED, generate
from icap_dlp.inspection import load_bundle

REPO = Path(__file__).resolve().parents[2]
DEFAULT = str(REPO / "policies" / "default.yaml")
STRICT = str(REPO / "policies" / "examples" / "strict-pii.yaml")
SAMPLE = REPO / "tests" / "fixtures" / "eval" / "debian-changelogs.jsonl"
SEED = 11  # not a seed used while tuning (1) nor the README's held-out run (20261127)


@cache
def corpus() -> list[Case]:
    return generate(SEED, 96)


@cache
def intl_corpus() -> list[Case]:
    """The international identifiers' templates only, both splits: about 30 values per type."""
    return generate(SEED, 190, prefix="intl-")


@cache
def report(policy: str, sample: bool = False, intl: bool = False) -> Report:
    bundle = load_bundle(load_settings({"policy": policy}, env={}), policy)
    cases = load_corpus(SAMPLE) if sample else intl_corpus() if intl else corpus()
    return evaluate(cases, local_inspector(bundle), policy)


def test_the_generator_is_deterministic_and_covers_every_container() -> None:
    a, b = generate(3, 24), generate(3, 24)
    assert [c.to_json() for c in a] == [c.to_json() for c in b]
    assert generate(4, 24)[0].body != a[0].body
    containers = {c.id.rsplit("-", 1)[1] for c in generate(SEED, 96)}
    assert containers == {"text", "structured", "resource", "sse", "batch", "gzip"}
    assert {c.split for c in corpus()} == {"tuning", "heldout"}


def test_corpus_round_trip_and_errors_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    dump_cases(corpus()[:10], path)
    assert [c.to_json() for c in load_corpus(path)] == [c.to_json() for c in corpus()[:10]]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(corpus()[0].to_json()) + "\n" + json.dumps({"body": "x", "sensitive": [{"type": "X"}]})
                   + "\n")
    with pytest.raises(ConfigError) as exc:
        load_corpus(bad)
    assert "bad.jsonl:2" in exc.value.render() and "value" in exc.value.render()


def test_a_value_counts_as_removed_only_when_gone_from_the_decoded_output() -> None:
    """JSON escapes and gzip hide nothing: an escaped or compressed value is still present."""
    import gzip

    body = json.dumps({"result": {"text": "김현지 alice@example.com"}}).encode()  # \\uXXXX escapes
    assert "김현지" in visible_text(body)
    assert "alice@example.com" in visible_text(gzip.compress(body), "gzip")
    sse = b'event: message\ndata: {"text": "\\uae40\\ud604\\uc9c0"}\n\n'
    assert "김현지" in visible_text(sse)


def test_scores_count_values_and_lookalikes() -> None:
    case = Case("c1", json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text":
                "mail alice@example.com, build 1.2.3, order 123456782"}]}}).encode(),
                sensitive=(Label("EMAIL_ADDRESS", "alice@example.com"),),
                lookalikes=(Label("version", "1.2.3"), Label("order-number", "123456782")))
    bundle = load_bundle(load_settings({"policy": DEFAULT}, env={}), DEFAULT)
    rep = evaluate([case], local_inspector(bundle))
    assert (rep.types["EMAIL_ADDRESS"].recall, rep.types["EMAIL_ADDRESS"].precision) == (1.0, 1.0)
    assert rep.survival() == 1.0


def test_default_policy_floors() -> None:
    """Credentials and structured PII: recall 1.0 on the generated corpus; look-alikes survive."""
    rep = report(DEFAULT)
    for t in (*TYPES_STRUCTURED, *TYPES_CREDENTIAL):
        if t in rep.types and rep.types[t].total:
            assert rep.types[t].recall == 1.0, (t, rep.missed)
            assert (rep.types[t].precision or 1.0) >= 0.98, t
    assert (rep.survival() or 0) >= 0.99, rep.destroyed
    for kind in ("certificate", "clean-url", "order-number", "uuid", "version", "sha256", "bad-card"):
        assert rep.survival(kind) in (None, 1.0), (kind, rep.destroyed)


@pytest.mark.parametrize("policy", [DEFAULT, STRICT])
def test_international_identifier_floors(policy: str) -> None:
    """National, tax and health identifiers of 18 countries and wallets, in context (field names,
    CSV headers, labels in the country's language and in Korean): recall >= 0.95 per type, their
    same-length look-alikes (wrong check character, dates, order and phone-shaped numbers) survive
    >= 0.99, and no value is removed under another type (a Canadian SIN as a US SSN)."""
    rep = report(policy, intl=True)
    assert {c.template for c in intl_corpus()} >= {"intl-payroll-csv", "intl-korean-hr", "intl-hr-json"}
    for t in TYPES_INTL:
        assert rep.types[t].total >= 15, t
        assert (rep.types[t].recall or 0) >= 0.95, (t, [m for m in rep.missed if m[1] == t])
    kinds = [k for k in rep.lookalikes if k.startswith("intl-")]
    assert len(kinds) == 4
    survived = sum(rep.lookalikes[k][0] for k in kinds)
    total = sum(rep.lookalikes[k][1] for k in kinds)
    assert total >= 500 and survived / total >= 0.99, rep.destroyed
    assert not [c for c in rep.confusion if c[0] in TYPES_INTL or c[1] in TYPES_INTL], rep.confusion


def test_strict_pii_floors() -> None:
    rep = report(STRICT)
    assert (rep.types["KR_PERSON_NAME"].recall or 0) >= 0.95, rep.missed
    assert (rep.types["STREET_ADDRESS"].recall or 0) >= 0.9, rep.missed
    assert (rep.types["PERSON"].recall or 0) >= 0.9, rep.missed
    assert (rep.survival() or 0) >= 0.98, rep.destroyed


def test_hand_labelled_sample_of_real_text() -> None:
    """Debian changelogs (see tests/fixtures/eval/README.md): maintainers' e-mails go, version
    numbers, dates and bug numbers stay."""
    rep = report(DEFAULT, sample=True)
    assert rep.types["EMAIL_ADDRESS"].recall == 1.0, rep.missed
    assert rep.survival() == 1.0, rep.destroyed
    strict = report(STRICT, sample=True)
    assert (strict.types["PERSON"].recall or 0) >= 0.9, strict.missed


def test_eval_command(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    dump_cases(corpus()[:12], path)
    out = subprocess.run([sys.executable, "-m", "icap_dlp", "eval", str(path), "--json"], capture_output=True,
                         text=True, check=True, cwd=tmp_path).stdout
    data = json.loads(out)
    assert data["policy"] == "default" and data["cases"] == 12
    assert data["types"]["EMAIL_ADDRESS"]["recall"] == 1.0
    text = subprocess.run([sys.executable, "-m", "icap_dlp", "eval", str(path), "--policy", DEFAULT],
                          capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    assert "EMAIL_ADDRESS" in text and "look-alike kind" in text
    for case in corpus()[:12]:  # the report masks values
        for x in case.sensitive:
            assert x.value not in out or len(x.value) < 6


@pytest.mark.parametrize("policy", [DEFAULT, STRICT])
def test_the_same_figures_through_the_server(policy: str, server_factory) -> None:  # type: ignore[no-untyped-def]
    """RESPMOD over ICAP (JSON, SSE, batch, gzip ...) removes exactly what the inspection removes."""
    srv = server_factory("--policy", policy)
    cases = corpus()[:48]
    bundle = load_bundle(load_settings({"policy": policy}, env={}), policy)
    local = evaluate(cases, local_inspector(bundle))
    remote = evaluate(cases, icap_inspector(f"icap://127.0.0.1:{srv.port}/respmod"))
    def removed(rep: Report) -> dict[str, tuple[int, int]]:
        return {t: (s.total, s.removed) for t, s in rep.types.items() if s.total}

    assert removed(remote) == removed(local)
    assert sum(s.total for s in local.types.values()) > 200
    assert remote.lookalikes == local.lookalikes
    assert remote.missed == local.missed and remote.destroyed == local.destroyed
