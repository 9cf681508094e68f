"""Audit delivery: spool and replay in order (also across a restart), TLS syslog, LEEF/CEF escaping."""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from icap_dlp.audit import AuditLogger, SyslogSink, to_cef, to_leef
from tests.conftest import free_port


class Receiver:
    """A TCP (optionally TLS) syslog receiver on loopback that decodes octet-counted frames."""

    def __init__(self, ssl_ctx: ssl.SSLContext | None = None) -> None:
        self.port = free_port()
        self.frames: list[str] = []
        self.ssl = ssl_ctx
        self.server: asyncio.base_events.Server | None = None

    async def _conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        buf = b""
        while True:
            data = await reader.read(65536)
            if not data:
                break
            buf += data
            while b" " in buf:
                n, _, rest = buf.partition(b" ")
                if len(rest) < int(n):
                    break
                self.frames.append(rest[: int(n)].decode())
                buf = rest[int(n):]
        writer.close()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._conn, "127.0.0.1", self.port, ssl=self.ssl)

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


def rec(i: int) -> dict[str, object]:
    return {"schema": "icap-dlp.audit/1", "ts": "2026-11-24T00:00:00.000Z", "incident_id": f"inc{i}",
            "decision": "redact", "rules": ["r"], "findings": []}


def test_spool_replays_in_order_after_the_receiver_returns_and_across_a_restart(tmp_path: Path) -> None:
    async def scenario() -> None:
        recv = Receiver()
        url = f"tcp://127.0.0.1:{recv.port}"
        # receiver down: records go to the spool and survive close()
        a = AuditLogger([SyslogSink(url)], spool_dir=tmp_path, worker=3)
        a.start()
        for i in range(5):
            a.emit(rec(i))
        await a.close(timeout=5)
        spooled = list(tmp_path.glob("*.spool.jsonl"))
        assert len(spooled) == 1 and len(spooled[0].read_text().splitlines()) == 5
        # "restart": a new logger replays the spool first, then new records, in order
        await recv.start()
        b = AuditLogger([SyslogSink(url)], spool_dir=tmp_path, worker=3)
        b.start()
        for i in range(5, 8):
            b.emit(rec(i))
        await b.close(timeout=5)
        await recv.stop()
        ids = [json.loads(f.split(" dlp - ", 1)[1])["incident_id"] for f in recv.frames]
        assert ids == [f"inc{i}" for i in range(8)]
        assert not any(p.stat().st_size for p in tmp_path.glob("*.spool.jsonl"))

    asyncio.run(scenario())


def test_queue_overflow_spools_instead_of_dropping(tmp_path: Path) -> None:
    async def scenario() -> None:
        recv = Receiver()
        await recv.start()
        log = AuditLogger([SyslogSink(f"tcp://127.0.0.1:{recv.port}")], queue_size=2, backpressure="spool",
                          spool_dir=tmp_path)
        log.start()
        for i in range(20):
            log.emit(rec(i))  # the drainer has not run yet: most overflow to disk
        await log.close(timeout=5)
        await recv.stop()
        ids = sorted(json.loads(f.split(" dlp - ", 1)[1])["incident_id"] for f in recv.frames)
        assert ids == sorted(f"inc{i}" for i in range(20)) and log.dropped == 0

    asyncio.run(scenario())


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_tls_syslog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    monkeypatch.setenv("ICAP_DLP_SYSLOG_CA_FILE", str(cert))
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)

    async def scenario() -> None:
        recv = Receiver(server_ctx)
        await recv.start()
        sink = SyslogSink(f"tls://127.0.0.1:{recv.port}", fmt="leef")
        await sink.write([rec(1)])
        await sink.close()
        await asyncio.sleep(0.2)
        await recv.stop()
        assert len(recv.frames) == 1 and "LEEF:2.0|icap-dlp|icap-dlp|" in recv.frames[0]
        assert "incident=inc1" in recv.frames[0]

    asyncio.run(scenario())


def test_cef_and_leef_escaping() -> None:
    r = {"decision": "block", "rules": ["a=b", "c|d"], "incident_id": "x\ny", "http": {"path": "/p\\q"}}
    cef = to_cef(r)
    assert "cs1=a\\=b,c|d" in cef and "cs2=x\\ny" in cef and "request=/p\\\\q" in cef
    assert cef.count("|") == 8  # 7 header separators + the rule id pipe (extensions need no pipe escape)
    leef = to_leef(r)
    assert "incident=x\\ny" in leef and "\t" in leef
