"""The shipped policies pass their own tests and the lint, through the real CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
POLICIES = sorted((REPO / "policies").rglob("*.yaml"))


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "icap_dlp", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_policy_tests_and_lint_pass(path: Path) -> None:
    t = cli("policy", "test", str(path))
    assert t.returncode == 0, t.stdout + t.stderr
    assert " 0 failed" in t.stdout
    lint = cli("policy", "lint", str(path))
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_a_failing_policy_test_exits_non_zero_with_a_report(tmp_path: Path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text("""version: 1
name: t
rules:
  - id: r
    detect: {detectors: [email]}
    action: redact
tests:
  - name: expects the wrong thing
    input: {body: "mail bob@example.com"}
    expect: {decision: block}
""")
    t = cli("policy", "test", str(p))
    assert t.returncode == 1
    assert "FAIL p.yaml:" in t.stdout and "decision: expected block, got redact" in t.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: t\nrules:\n  - id: r\n    detect: {detectors: [emial]}\n    action: redact\n")
    lint = cli("policy", "lint", str(bad))
    assert lint.returncode == 1
    assert "bad.yaml:5: rules[0].detect.detectors[0]: unknown detector id 'emial'" in lint.stderr


def test_detectors_test_cli() -> None:
    t = cli("detectors", "test")
    assert t.returncode == 0 and " 0 failed examples" in t.stdout
