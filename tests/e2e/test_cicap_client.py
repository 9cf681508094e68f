"""The real c-icap-client (Debian's c-icap package) against icap-dlp."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ServerProc
from tests.e2e.conftest import CLEAN_JSON, require

pytestmark = pytest.mark.e2e


def cicap(port: int, *args: str, timeout: float = 30) -> tuple[int, str]:
    exe = require("c-icap-client")
    p = subprocess.run([exe, "-i", "127.0.0.1", "-p", str(port), *args], capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def icap_status(out: str) -> int:
    m = re.search(r"ICAP/1\.0 (\d{3})", out)
    assert m, out
    return int(m.group(1))


def test_options(icap_server: ServerProc) -> None:
    rc, out = cicap(icap_server.port, "-s", "respmod", "-v")
    assert rc == 0
    assert icap_status(out) == 200
    assert "Allow 204: Yes" in out and "Preview: 0" in out
    assert "Methods: RESPMOD" in out and 'ISTag: "' in out


def test_unknown_service(icap_server: ServerProc) -> None:
    _, out = cicap(icap_server.port, "-s", "nope", "-v")
    assert icap_status(out) == 404


@pytest.mark.parametrize("preview", [None, "0", "5", "4096"])
def test_respmod_no204_echo_is_byte_identical(icap_server: ServerProc, tmp_path: Path, preview: str | None) -> None:
    src = tmp_path / "in.bin"
    src.write_bytes(CLEAN_JSON * 100)
    dst = tmp_path / "out.bin"
    args = ["-s", "respmod", "-f", str(src), "-resp", "http://origin.test/x.json", "-no204", "-o", str(dst), "-v"]
    args += ["-nopreview"] if preview is None else ["-w", preview]
    rc, out = cicap(icap_server.port, *args)
    assert rc == 0, out
    status = icap_status(out)
    if status == 204:  # an answer to a preview may be 204 even without Allow: 204
        assert preview is not None
    else:
        assert status == 200
        assert dst.read_bytes() == src.read_bytes()


def test_respmod_with_204(icap_server: ServerProc, tmp_path: Path) -> None:
    src = tmp_path / "in.json"
    src.write_bytes(CLEAN_JSON)
    rc, out = cicap(icap_server.port, "-s", "respmod", "-f", str(src), "-resp", "http://origin.test/x.json", "-v")
    assert rc == 0
    assert icap_status(out) == 204


def test_reqmod(icap_server: ServerProc, tmp_path: Path) -> None:
    src = tmp_path / "in.json"
    src.write_bytes(CLEAN_JSON)
    rc, out = cicap(icap_server.port, "-s", "reqmod", "-f", str(src), "-req", "http://origin.test/upload",
                    "-nopreview", "-v")
    assert rc == 0
    assert icap_status(out) in (200, 204)
    rc, out = cicap(icap_server.port, "-s", "reqmod", "-req", "http://origin.test/page", "-v")
    assert icap_status(out) == 204


def test_reqmod_on_the_alias_service(icap_server: ServerProc, tmp_path: Path) -> None:
    src = tmp_path / "in.json"
    src.write_bytes(CLEAN_JSON)
    for mode in ("-req", "-resp"):
        rc, out = cicap(icap_server.port, "-s", "dlp", "-f", str(src), mode, "http://origin.test/x", "-v")
        assert rc == 0 and icap_status(out) in (200, 204), out


def test_respmod_redaction_through_cicap_client(icap_server: ServerProc, tmp_path: Path) -> None:
    import json

    src = tmp_path / "mcp.json"
    src.write_bytes(json.dumps({"jsonrpc": "2.0", "id": 31, "result": {"content": [
        {"type": "text", "text": "key AKIAIOSFODNN7EXAMPLE mail alice@example.com"}]}}).encode())
    dst = tmp_path / "out.json"
    rc, out = cicap(icap_server.port, "-s", "respmod", "-f", str(src), "-resp", "http://mcp.test/mcp",
                    "-rhx", "Content-Type: application/json", "-o", str(dst), "-v")
    assert rc == 0 and icap_status(out) == 200, out
    assert "X-DLP-Decision: redact" in out
    msg = json.loads(dst.read_bytes())
    assert msg["id"] == 31
    assert msg["result"]["content"][0]["text"] == "key [AWS_ACCESS_KEY_ID] mail [EMAIL_ADDRESS]"


def test_disguised_values_through_cicap_client(icap_server: ServerProc, tmp_path: Path) -> None:
    """Issue 12's forms through the real c-icap-client: a JSON-RPC body labelled binary, an access
    key with a soft hyphen, a base64 .env file and a card number as a JSON number."""
    import base64
    import json

    env = base64.b64encode(b"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n").decode()
    src = tmp_path / "mcp.bin"
    src.write_bytes(json.dumps({"jsonrpc": "2.0", "id": 32, "result": {
        "content": [{"type": "text", "text": "key AKIA\u00adIOSFODNN7EXAMPLE file " + env}],
        "structuredContent": {"card": 4111111111111111}}}, ensure_ascii=False).encode())
    dst = tmp_path / "out.json"
    rc, out = cicap(icap_server.port, "-s", "respmod", "-f", str(src), "-resp", "http://mcp.test/mcp",
                    "-rhx", "Content-Type: application/octet-stream", "-o", str(dst), "-v")
    assert rc == 0 and icap_status(out) == 200, out
    msg = json.loads(dst.read_bytes())
    assert msg["id"] == 32
    assert msg["result"]["content"][0]["text"] == "key [AWS_ACCESS_KEY_ID] file [AWS_ACCESS_KEY_ID]"
    assert msg["result"]["structuredContent"] == {"card": 1000000000001111}
