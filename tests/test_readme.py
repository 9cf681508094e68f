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


CASES = [("policy", t) for t in POLICIES] + [("detectors", t) for t in DETECTORS]
COMMANDS = {"policy": (("policy", "lint"), ("policy", "test")), "detectors": (("detectors", "test"),)}


@pytest.mark.parametrize(("kind", "text"), CASES, ids=[f"{k}{i}" for i, (k, _) in enumerate(CASES)])
def test_readme_examples_pass_lint_and_their_own_tests(tmp_path: Path, kind: str, text: str) -> None:
    if kind == "policy":
        assert "tests:" in text, "a README policy example without tests teaches nothing checkable"
    p = tmp_path / f"readme-{kind}.yaml"
    p.write_text(text)
    for cmd in COMMANDS[kind]:
        run = cli(*cmd, str(p))
        assert run.returncode == 0, f"{' '.join(cmd)}: {run.stdout}{run.stderr}"
