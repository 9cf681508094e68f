"""scan / detectors list / detectors test, called through the module's own entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from icap_dlp.detection._cli import main, masked

TEXT = "card 4111 1111 1111 1111\nkey AKIAIOSFODNN7EXAMPLE\n"


def test_scan_table_json_and_redact(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "in.txt"
    f.write_text(TEXT)
    assert main(["scan", str(f)]) == 0
    out = capsys.readouterr().out
    assert "credit-card" in out and "1:6" in out and "***************1111" in out
    assert "4111 1111" not in out and "AKIAIOSFODNN7EXAMPLE" not in out
    assert main(["scan", "--json", str(f)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["detector"], r["location"]) for r in rows] == [("credit-card", "1:6"), ("aws-access-key-id", "2:5")]
    assert main(["scan", "--redact", str(f)]) == 0
    assert capsys.readouterr().out == "card [CREDIT_CARD]\nkey [AWS_ACCESS_KEY_ID]\n"


def test_masked_never_shows_more_than_four() -> None:
    assert masked("4111111111111111") == "************1111"
    assert masked("secret") == "******"


def test_detectors_list_and_test(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detectors", "list"]) == 0
    assert "aws-access-key-id" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("""version: 1
detectors:
  - id: demo
    description: demo
    entity_type: DEMO
    category: pii
    patterns:
      - regex: 'demo-\\d+'
    examples:
      match: ['demo-1', 'no digits here']
      no_match: ['demo-2']
""")
    assert main(["detectors", "test", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "- expected a match in 'no digits here'" in out
    assert "+ unexpected match 'demo-2'" in out
    assert "1 detectors, 2 failed examples" in out


def test_a_broken_detector_file_is_reported_not_raised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 2\ndetectors: []\n")
    assert main(["detectors", "test", str(bad)]) == 1
    assert "bad.yaml:1: version" in capsys.readouterr().err
