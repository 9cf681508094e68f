"""The README's examples run: every policy in it passes `policy lint` and `policy test`, and its
detector example passes `detectors test`. A README that teaches something the server does not do
fails the build."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```yaml\n(.*?)```", README, flags=re.S)
POLICIES = [b for b in BLOCKS if re.search(r"^version: 1$", b, re.M) and re.search(r"^rules:$", b, re.M)]
DETECTORS = [b for b in BLOCKS if re.search(r"^version: 1$", b, re.M) and re.search(r"^detectors:$", b, re.M)]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "icap_dlp", *args], capture_output=True, text=True, timeout=300)


def test_the_readme_has_examples() -> None:
    assert POLICIES and DETECTORS  # the extraction itself must find them


@pytest.mark.parametrize("text", POLICIES, ids=[f"policy{i}" for i in range(len(POLICIES))])
def test_readme_policy_examples_lint_and_pass_their_tests(tmp_path: Path, text: str) -> None:
    p = tmp_path / "readme-policy.yaml"
    p.write_text(text)
    lint = cli("policy", "lint", str(p))
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "tests:" in text, "a README policy example without tests teaches nothing checkable"
    run = cli("policy", "test", str(p))
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize("text", DETECTORS, ids=[f"detectors{i}" for i in range(len(DETECTORS))])
def test_readme_detector_examples_pass(tmp_path: Path, text: str) -> None:
    p = tmp_path / "readme-detectors.yaml"
    p.write_text(text)
    run = cli("detectors", "test", str(p))
    assert run.returncode == 0, run.stdout + run.stderr
