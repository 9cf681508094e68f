"""Bodies held in memory are bounded; policy changes change the ISTag; bad policies are rejected."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

from icap_dlp.client import IcapClient
from icap_dlp.config import default_policy_path
from tests.conftest import wait_until

BIG = b'{"text":"' + b"x" * 10_000 + b'"}'


def test_oversize_json_fails_closed_by_default(server_factory) -> None:  # type: ignore[no-untyped-def]
    srv = server_factory("--max-body-bytes", "2048")
    with IcapClient("127.0.0.1", srv.port) as c:
        r = c.respmod(BIG)
        assert r.status == 200
        assert r.http_response is not None and r.http_response.status == 403
        assert r.headers.get("X-DLP-Failure") == "oversize:closed"
        assert b"data-protection policy" in (r.body or b"")
        assert r.headers.get("Connection") == "close"
    with IcapClient("127.0.0.1", srv.port) as c:  # the server is fine
        assert c.respmod(b'{"a":1}').status == 204
        # binary bodies are not held in memory at all: no limit applies (streamed on unchanged)
        png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64
        r = c.respmod(png, content_type="application/octet-stream")
        assert r.status == 200 and r.body == png
        # JSON that says it is binary is held and inspected like JSON: the same limit applies
        r = c.respmod(BIG, content_type="application/octet-stream")
        assert BIG not in (r.body or b"") and b"data-protection policy" in (r.body or b"")


def test_oversize_fail_open_passes_the_whole_message(server_factory) -> None:  # type: ignore[no-untyped-def]
    srv = server_factory("--max-body-bytes", "2048", "--on-oversize", "open")
    with IcapClient("127.0.0.1", srv.port) as c:
        r = c.respmod(BIG)
        assert r.status == 204 and r.headers.get("X-DLP-Failure") == "oversize:open"
        r = c.respmod(BIG, allow_204=False, preview=0)
        assert r.status == 200 and r.body == BIG  # never truncated
        assert c.respmod(b'{"a":1}').status == 204


def _write_policy(path: Path, name: str) -> None:
    text = default_policy_path().read_text().replace("name: default", f"name: {name}")
    path.write_text(text)


def test_istag_follows_the_policy_and_bad_versions_are_rejected(server_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pol = tmp_path / "policy.yaml"
    _write_policy(pol, "one")
    srv = server_factory("--policy", str(pol), "--workers", "2")
    with IcapClient("127.0.0.1", srv.port) as c:
        tag1 = c.options("respmod").istag
        _write_policy(pol, "two")
        srv.signal(signal.SIGHUP)
        wait_until(lambda: c.options("respmod").istag != tag1, interval=0.2)
        tag2 = c.options("respmod").istag
        # an invalid version: rejected with file:line, the last good one stays
        pol.write_text("version: 1\nname: bad\nrules:\n  - id: x\n    action: explode\n")
        # the file watcher notices without a signal
        wait_until(lambda: "last good policy stays active" in srv.log(), detail=lambda: srv.log()[-2000:])
        assert c.options("respmod").istag == tag2
        assert c.respmod(b'{"a":1}').status == 204
    log = srv.log()
    assert "policy.yaml:5: rules[0].action" in log
    assert "last good policy stays active" in log


def test_bad_policy_stops_start_up_with_file_and_line(tmp_path: Path) -> None:
    pol = tmp_path / "p.yaml"
    pol.write_text("version: 1\nname: x\nrules:\n  - id: a\n    action: block\n    colour: red\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = subprocess.run([sys.executable, "-m", "icap_dlp", "serve", "--port", str(port), "--policy", str(pol)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert "p.yaml:6: rules[0].colour: unknown key" in p.stderr


def test_policy_folder_is_accepted(server_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    d = tmp_path / "policies"
    d.mkdir()
    shutil.copy(default_policy_path(), d / "default.yaml")
    srv = server_factory("--policy", str(d))
    with IcapClient("127.0.0.1", srv.port) as c:
        assert c.options("respmod").istag
