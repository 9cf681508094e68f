"""The asyncio server against real processes on loopback: services, keep-alive, preview, hostile input."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from icap_dlp.client import IcapClient
from tests.conftest import ServerProc, free_port, wait_until

BODY = b'{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"all clear"}]}}'


def raw_exchange(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send bytes, read until the server closes (or the timeout)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except TimeoutError:
            out += b"<timeout>"
        return out


def status_of(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1])


def test_options_for_each_service(shared_server: ServerProc) -> None:
    with IcapClient("127.0.0.1", shared_server.port) as c:
        for service, methods in (("respmod", "RESPMOD"), ("reqmod", "REQMOD"), ("dlp", "REQMOD, RESPMOD")):
            r = c.options(service)
            assert r.status == 200
            assert r.headers.get("Methods") == methods
            for h in ("ISTag", "Service", "Max-Connections", "Options-TTL", "Preview", "Transfer-Preview"):
                assert r.headers.get(h), h
            assert r.headers.get("Allow") == "204"
            assert r.headers.get("Encapsulated") == "null-body=0"


def test_unknown_service_and_wrong_method(shared_server: ServerProc) -> None:
    with IcapClient("127.0.0.1", shared_server.port) as c:
        assert c.options("nope").status == 404
        # null-body: the stream stays in sync, so the connection stays open
        assert c.reqmod(None, service="respmod").status == 405
        assert c.options("respmod").status == 200


def test_keep_alive_many_requests_one_connection(shared_server: ServerProc) -> None:
    with IcapClient("127.0.0.1", shared_server.port) as c:
        for _ in range(50):
            r = c.respmod(BODY)
            assert r.status == 204 and (r.headers.get("Connection") or "").lower() != "close"
        secret = b'{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"AKIAIOSFODNN7EXAMPLE"}]}}'
        for _ in range(20):
            assert c.respmod(secret).status == 200  # a modified answer keeps the connection too
        assert c.connects == 1  # the client reconnects silently after a close: it must not have had to


def test_pipelined_requests_are_answered_in_order(shared_server: ServerProc) -> None:
    port = shared_server.port
    one = f"OPTIONS icap://127.0.0.1:{port}/respmod ICAP/1.0\r\nHost: x\r\n\r\n".encode()
    two = f"OPTIONS icap://127.0.0.1:{port}/nope ICAP/1.0\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    out = raw_exchange(port, one + two)
    assert out.count(b"ICAP/1.0 ") == 2
    assert out.index(b"ICAP/1.0 200") < out.index(b"ICAP/1.0 404")


def test_connection_close_is_honoured(shared_server: ServerProc) -> None:
    port = shared_server.port
    out = raw_exchange(port, b"OPTIONS icap://h/respmod ICAP/1.0\r\nConnection: close\r\n\r\n")
    assert out.startswith(b"ICAP/1.0 200") and not out.endswith(b"<timeout>")


def test_echo_without_allow_204_returns_the_same_body(shared_server: ServerProc) -> None:
    with IcapClient("127.0.0.1", shared_server.port) as c:
        for preview in (None, 0, 10, 4096):
            r = c.respmod(BODY * 50, allow_204=False, preview=preview, content_type="application/octet-stream")
            if r.status == 204:  # 204 in answer to a preview is always allowed
                assert preview is not None
                continue
            assert r.status == 200
            assert r.body == BODY * 50


def test_preview_gets_204_for_binaries_and_100_continue_for_json(shared_server: ServerProc) -> None:
    big = BODY * 200
    with IcapClient("127.0.0.1", shared_server.port) as c:
        r = c.respmod(big, preview=1024, content_type="image/png", request_method="GET", accept="*/*")
        assert r.status == 204 and r.interim == []  # binary outside MCP: no inspection, decided in the preview
        # JSON the policy must inspect: the server asks for the rest of the body (100 Continue)
        # and, the body being clean and 204 not allowed, echoes it.
        r = c.respmod(big, preview=1024, allow_204=False, content_type="application/json")
        assert r.status == 200 and r.interim == [100] and r.body == big
        assert c.connects == 1


HOSTILE = [
    (b"GARBAGE\r\n\r\n", 400),
    (b"FOO icap://h/respmod ICAP/1.0\r\n\r\n", 501),
    (b"OPTIONS icap://h/respmod ICAP/2.0\r\n\r\n", 505),
    (b"RESPMOD icap://h/respmod ICAP/1.0\r\nHost: x\r\n\r\n", 400),
    (b"RESPMOD icap://h/respmod ICAP/1.0\r\nAllow: 204\r\nEncapsulated: res-hdr=0, res-body=19\r\n\r\n"
     b"HTTP/1.1 200 OK\r\n\r\nzz\r\nbad chunk\r\n", 400),
    (b"OPTIONS icap://h/respmod ICAP/1.0\r\nX: " + b"a" * 70000 + b"\r\n\r\n", 400),
]


@pytest.mark.parametrize(("data", "status"), HOSTILE)
def test_hostile_input_gets_its_status_and_close_while_others_keep_working(
        shared_server: ServerProc, data: bytes, status: int) -> None:
    port = shared_server.port
    with IcapClient("127.0.0.1", port) as healthy:
        assert healthy.respmod(BODY).status in (200, 204)
        out = raw_exchange(port, data)
        assert status_of(out) == status
        assert b"Connection: close" in out
        assert not out.endswith(b"<timeout>")  # closed by the server
        assert healthy.respmod(BODY).status in (200, 204)


def test_limits_are_settings(server_factory) -> None:  # type: ignore[no-untyped-def]
    srv = server_factory("--max-icap-header-bytes", "1024", "--max-request-line", "256")
    out = raw_exchange(srv.port, b"OPTIONS icap://h/respmod ICAP/1.0\r\nX: " + b"a" * 2000 + b"\r\n\r\n")
    assert status_of(out) == 400
    out = raw_exchange(srv.port, b"OPTIONS icap://h/" + b"a" * 300 + b" ICAP/1.0\r\n\r\n")
    assert status_of(out) == 400


def test_slow_client_header_timeout_and_idle_timeout(server_factory) -> None:  # type: ignore[no-untyped-def]
    srv = server_factory("--header-timeout", "1", "--idle-timeout", "1.5", "--read-timeout", "1")
    # slowloris: a head dribbled out slower than the header deadline
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
        start = time.monotonic()
        got = b""
        for b in b"OPTIONS icap://h/respmod ICAP/1.0\r\n":
            try:
                s.sendall(bytes([b]))
            except OSError:
                break
            time.sleep(0.1)
            s.setblocking(False)
            try:
                got += s.recv(4096)
            except BlockingIOError:
                pass
            s.setblocking(True)
            if got:
                break
        s.settimeout(3)
        try:
            got += s.recv(4096)
        except OSError:
            pass
        assert got.startswith(b"ICAP/1.0 408"), got
        assert time.monotonic() - start < 4
    # idle keep-alive connection is closed by the server
    with IcapClient("127.0.0.1", srv.port) as c:
        assert c.options("respmod").status == 200
        sock = c._sock
        assert sock is not None
        sock.settimeout(5)
        t = time.monotonic()
        assert sock.recv(10) == b""
        assert 1.0 < time.monotonic() - t < 4.5
    # a body that stops arriving
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
        s.sendall(b"RESPMOD icap://h/respmod ICAP/1.0\r\nAllow: 204\r\nEncapsulated: res-hdr=0, res-body=19\r\n\r\n"
                  b"HTTP/1.1 200 OK\r\n\r\n5\r\nhel")
        out = s.recv(4096)
        assert out.startswith(b"ICAP/1.0 408")


def test_max_connections_answers_503(server_factory) -> None:  # type: ignore[no-untyped-def]
    srv = server_factory("--max-connections", "2")
    a, b = IcapClient("127.0.0.1", srv.port), IcapClient("127.0.0.1", srv.port)
    try:
        assert a.options("respmod").status == 200
        assert b.options("respmod").status == 200
        out = raw_exchange(srv.port, b"OPTIONS icap://h/respmod ICAP/1.0\r\n\r\n")
        assert status_of(out) == 503
        a.close()
        time.sleep(0.2)
        with IcapClient("127.0.0.1", srv.port) as c:
            assert c.options("respmod").status == 200
    finally:
        a.close()
        b.close()


def _read_until(s: socket.socket, marker: bytes, timeout: float = 30.0) -> bytes:
    s.settimeout(timeout)
    out = b""
    while marker not in out:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    return out


def _refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except OSError:
        return True


def test_sigterm_finishes_the_request_in_flight(server_factory) -> None:  # type: ignore[no-untyped-def]
    """SIGTERM while a body is half sent: the server stops accepting, still reads the rest of the
    body, answers it in full and then exits 0."""
    srv = server_factory()
    head = (b"RESPMOD icap://h/respmod ICAP/1.0\r\nEncapsulated: res-hdr=0, res-body=44\r\n\r\n"
            b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n\r\n")
    assert len(head.split(b"\r\n\r\n", 1)[1]) == 44
    with socket.create_connection(("127.0.0.1", srv.port), timeout=30) as s:
        s.sendall(head + b"5\r\nhello\r\n")
        # No Allow: 204, so the binary is echoed as it arrives: the first chunk proves the
        # request is in flight before the signal.
        out = _read_until(s, b"hello")
        assert out.startswith(b"ICAP/1.0 200") and b"hello" in out
        srv.signal(signal.SIGTERM)
        wait_until(lambda: _refused(srv.port))  # the listener is closed: the signal was handled
        s.sendall(b"5\r\nworld\r\n0\r\n\r\n")
        out += _read_until(s, b"\r\n0\r\n\r\n")
    body = out.split(b"\r\n\r\n", 2)[2]  # after the ICAP head and the HTTP head
    chunks, rest = [], body
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        chunks.append(rest[:size])
        rest = rest[size + 2:]
    assert b"".join(chunks) == b"helloworld"
    assert srv.proc.wait(30) == 0


def _reloaded(srv: ServerProc, n: int) -> bool:
    return srv.log().count('"reloaded"') >= n


def test_sighup_reloads_and_keeps_serving(server_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from icap_dlp.config import default_policy_path

    pol = tmp_path / "p.yaml"
    text = default_policy_path().read_text()
    pol.write_text(text)
    srv = server_factory("--policy", str(pol))
    with IcapClient("127.0.0.1", srv.port) as c:
        tag = c.options("respmod").istag
        srv.signal(signal.SIGHUP)
        wait_until(lambda: _reloaded(srv, 1), detail=lambda: srv.log()[-2000:])  # the worker logs each swap
        assert c.options("respmod").istag == tag  # same files, same version
        assert c.respmod(BODY).status == 204
        # A changed policy and SIGHUP: a new version on the same connection.
        pol.write_text(text.replace("name: default", "name: default-v2", 1))
        srv.signal(signal.SIGHUP)
        wait_until(lambda: c.options("respmod").istag != tag, detail=lambda: srv.log()[-2000:])
        assert c.respmod(BODY).status == 204
        assert c.connects == 1


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _listening_inodes(port: int) -> set[str]:
    out = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        f = line.split()
        if f[3] == "0A" and int(f[1].split(":")[1], 16) == port:  # LISTEN on our port
            out.add(f[9])
    return out


def _socket_inodes(pid: int) -> set[str]:
    out = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            out.add(target[8:-1])
    return out


def test_workers_share_the_port(server_factory) -> None:  # type: ignore[no-untyped-def]
    srv = server_factory("--workers", "2")
    # The master's children: two workers (multiprocessing "spawn") and its resource tracker.
    # Each worker holds its own listening socket on the port (SO_REUSEPORT); the master none.
    # The port opens with the first worker: wait (with a deadline) for the second.
    workers: list[int] = []
    listening: set[str] = set()
    per_worker: list[set[str]] = []

    def both_listen() -> bool:
        nonlocal workers, listening, per_worker
        workers = [k for k in _children(srv.pid) if b"spawn_main" in Path(f"/proc/{k}/cmdline").read_bytes()]
        listening = _listening_inodes(srv.port)
        per_worker = [_socket_inodes(pid) & listening for pid in workers]
        return len(workers) == 2 and all(len(s) == 1 for s in per_worker)

    wait_until(both_listen, 60, detail=lambda: f"workers {workers}, their listening sockets {per_worker}")
    assert len(workers) == 2, workers
    assert all(len(s) == 1 for s in per_worker), per_worker
    assert per_worker[0] != per_worker[1]
    assert not _socket_inodes(srv.pid) & listening
    results: list[int] = []

    def hit() -> None:
        with IcapClient("127.0.0.1", srv.port) as c:
            for _ in range(5):
                results.append(c.respmod(BODY).status)

    threads = [threading.Thread(target=hit) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [204] * 100


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        s.listen()
        p = subprocess.run([sys.executable, "-m", "icap_dlp", "serve", "--port", str(port), "--workers", "1"],
                           capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert p.returncode == 2
    assert f"127.0.0.1:{port} is already in use" in p.stderr


def test_version_and_bad_setting() -> None:
    p = subprocess.run([sys.executable, "-m", "icap_dlp", "--version"], capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.startswith("icap-dlp ")
    env = {**os.environ, "ICAP_DLP_WORKERS": "many"}
    p = subprocess.run([sys.executable, "-m", "icap_dlp", "serve"], capture_output=True, text=True, env=env,
                       timeout=60)
    assert p.returncode == 2 and "ICAP_DLP_WORKERS" in p.stderr
