"""Real peers on loopback: a local origin, Squid 5.7 in front of icap-dlp, c-icap-client.

Everything binds 127.0.0.1 on free ports and is stopped by PID. Under ``CI`` a missing squid or
c-icap-client binary fails the run; elsewhere those tests are skipped with the reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import REPO, ServerProc, free_port, start_server, wait_port

SECRET_TEXT = "card 4111 1111 1111 1111 and key AKIAIOSFODNN7EXAMPLE for the deploy bot"
MCP_RESULT = json.dumps({
    "jsonrpc": "2.0", "id": 42,
    "result": {"content": [{"type": "text", "text": SECRET_TEXT}], "isError": False},
}).encode()
IP_JSON = b'{"jsonrpc":"2.0","id":9,"result":{"content":[{"type":"text","text":"client 203.0.113.7 connected"}]}}'
CARD_DUMP = json.dumps({"jsonrpc": "2.0", "id": 11, "result": {"content": [{"type": "text", "text": "\n".join(
    f"customer {i}: card 4111 1111 1111 1111" for i in range(12))}]}}).encode()
CLEAN_JSON = b'{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"all clear"}]}}'
SSE_EVENTS = [
    b'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}\n\n',
    b'event: message\ndata: {"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"key '
    b'AKIAIOSFODNN7EXAMPLE"}]}}\n\n',
    b'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":3}}\n\n',
]
SSE_GAP = 0.6


def require(binary: str) -> str:
    path = shutil.which(binary) or (f"/usr/sbin/{binary}" if os.path.exists(f"/usr/sbin/{binary}") else None)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{binary} is not installed (CI installs it via scripts/test)")
        pytest.skip(f"{binary} is not installed: apt-get install squid c-icap")
    return path


def sized_json(n: int) -> bytes:
    """Deterministic JSON of exactly ``n`` bytes (clean: nothing a detector should find)."""
    head = b'{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"'
    tail = b'"}]}}'
    filler = (b"lorem ipsum dolor sit amet " * (n // 27 + 2))[: n - len(head) - len(tail)]
    return head + filler + tail


class _Origin(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    sse_sent: list[float] = []
    seen_headers: list[dict[str, str]] = []
    posted: list[bytes] = []

    def log_message(self, fmt: str, *args: object) -> None:
        pass

    def _send(self, body: bytes, ctype: str = "application/json", code: int = 200) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        type(self).seen_headers.append(dict(self.headers.items()))
        name = self.path.rsplit("/", 1)[-1].split("?")[0]
        if name == "mcp.json":
            return self._send(MCP_RESULT)
        if name == "clean.json":
            return self._send(CLEAN_JSON)
        if name == "ip.json":
            return self._send(IP_JSON)
        if name == "dump.json":
            return self._send(CARD_DUMP)
        if name.startswith("size-"):
            return self._send(sized_json(int(name[5:].split(".")[0])))
        if name == "sse":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i, ev in enumerate(SSE_EVENTS):
                if i:
                    time.sleep(SSE_GAP)
                type(self).sse_sent.append(time.monotonic())
                self.wfile.write(b"%x\r\n%s\r\n" % (len(ev), ev))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            return None
        return self._send(b"not found\n", "text/plain", 404)

    def do_POST(self) -> None:
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        type(self).posted.append(body)
        if self.path.rsplit("/", 1)[-1] == "mcp":
            req = json.loads(body)
            result = {"jsonrpc": "2.0", "id": req.get("id"),
                      "result": {"content": [{"type": "text", "text": "HR contact: carol@example.com"}]}}
            return self._send(json.dumps(result).encode())
        return self._send(body, self.headers.get("Content-Type") or "application/octet-stream")


@dataclass
class Origin:
    port: int
    handler: type[_Origin]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"


@pytest.fixture(scope="session")
def origin() -> Iterator[Origin]:
    handler = type("Handler", (_Origin,), {"sse_sent": [], "seen_headers": [], "posted": []})
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield Origin(srv.server_address[1], handler)
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="session")
def icap_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    srv = start_server(tmp_path_factory.mktemp("e2e-icap"), "--workers", "2")
    yield srv
    srv.stop()


def render_squid_conf(icap_port: int, squid_port: int, rundir: Path, *, auth: bool = False) -> str:
    """deploy/squid.conf with test ports and paths: the shipped file is the tested one."""
    conf = (REPO / "deploy" / "squid.conf").read_text()
    conf = conf.replace("http_port 3128", f"http_port 127.0.0.1:{squid_port}")
    conf = conf.replace("icap://127.0.0.1:1344/", f"icap://127.0.0.1:{icap_port}/")
    conf = re.sub(r"stdio:/var/log/squid/", f"stdio:{rundir}/", conf)
    extra = [
        f"pid_filename {rundir}/squid.pid",
        f"cache_log {rundir}/cache.log",
        "cache_store_log none",
        f"coredump_dir {rundir}",
        "cache_mem 8 MB",
        "pinger_enable off",
        "dns_nameservers 127.0.0.1",
        "shutdown_lifetime 1 seconds",
        "icap_io_timeout 30 seconds",
    ]
    if os.geteuid() == 0:
        extra.append("cache_effective_user proxy")
    if auth:
        helper = "/usr/lib/squid/basic_fake_auth"
        conf = conf.replace("http_access allow localhost", "http_access allow localhost authed")
        extra = [f"auth_param basic program {helper}", "auth_param basic children 2 startup=1 idle=1",
                 "auth_param basic realm dlp", "acl authed proxy_auth REQUIRED", *extra]
        # the acl must precede its use
        return "\n".join(extra) + "\n" + conf
    return "\n".join(extra) + "\n" + conf


@dataclass
class Squid:
    proc: subprocess.Popen[bytes]
    port: int
    rundir: Path

    @property
    def proxy(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self, name: str) -> str:
        p = self.rundir / name
        return p.read_text(errors="replace") if p.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.rundir, ignore_errors=True)


def start_squid(icap_port: int, *, auth: bool = False) -> Squid:
    squid = require("squid")
    port = free_port()
    rundir = Path(tempfile.mkdtemp(prefix="icap-dlp-squid-", dir="/tmp"))
    rundir.chmod(0o755)
    (rundir / "squid.conf").write_text(render_squid_conf(icap_port, port, rundir, auth=auth))
    if os.geteuid() == 0:
        pw = pwd.getpwnam("proxy")
        os.chown(rundir, pw.pw_uid, pw.pw_gid)
    parse = subprocess.run([squid, "-k", "parse", "-f", str(rundir / "squid.conf")], capture_output=True,
                           text=True)
    assert parse.returncode == 0, parse.stderr
    with open(rundir / "stdout.log", "wb") as log:
        proc = subprocess.Popen([squid, "-N", "-f", str(rundir / "squid.conf")], stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL)
    s = Squid(proc, port, rundir)
    try:
        wait_port(port, 30, proc)
    except RuntimeError:
        out = s.log("cache.log") + s.log("stdout.log")
        s.stop()
        raise RuntimeError(f"squid did not start:\n{out[-3000:]}") from None
    return s


@pytest.fixture(scope="module")
def squid(icap_server: ServerProc) -> Iterator[Squid]:
    s = start_squid(icap_server.port)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def squid_auth(icap_server: ServerProc) -> Iterator[Squid]:
    s = start_squid(icap_server.port, auth=True)
    yield s
    s.stop()


@dataclass
class CurlResult:
    code: int
    body: bytes
    seconds: float
    headers: str


def curl(proxy: str, url: str, *, data: bytes | None = None, user: str | None = None,
         ctype: str = "application/json", timeout: float = 60) -> CurlResult:
    exe = shutil.which("curl")
    assert exe, "curl is required"
    with tempfile.TemporaryDirectory() as td:
        out = Path(td) / "body"
        hdr = Path(td) / "headers"
        cmd = [exe, "-sS", "-x", proxy, "-o", str(out), "-D", str(hdr), "-w", "%{http_code} %{time_total}",
               "--max-time", str(timeout), url]
        if data is not None:
            (Path(td) / "post").write_bytes(data)
            cmd += ["--data-binary", f"@{Path(td) / 'post'}", "-H", f"Content-Type: {ctype}"]
        if user:
            cmd += ["--proxy-user", user]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 10)
        code, secs = [*p.stdout.split(), "0", "0"][:2]
        body = out.read_bytes() if out.exists() else b""
        return CurlResult(int(code), body, float(secs), hdr.read_text(errors="replace") if hdr.exists() else "")


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


CurlFn = Callable[..., CurlResult]
