"""Audit records: one per decision, never a planted value anywhere, delivered to a real rsyslog."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from icap_dlp.client import IcapClient
from tests.conftest import free_port

PLANTED = ["AKIAIOSFODNN7EXAMPLE", "4111 1111 1111 1111", "alice@example.com",
           "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", "DE89 3704 0044 0532 0130 00", "10.20.30.40"]


def body(text: str, rpc_id: int) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": rpc_id,
                       "result": {"content": [{"type": "text", "text": text}]}}).encode()


def test_one_record_per_decision_and_no_planted_value_in_any_output(server_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    audit = tmp_path / "audit" / "audit.jsonl"
    srv = server_factory("--workers", "2", "--audit-file", str(audit), "--audit-clean-allows",
                         "--log-level", "debug", "--audit-query", "hash")
    answered = 0
    with IcapClient("127.0.0.1", srv.port) as c:
        for i in range(40):
            text = f"row {i}: " + " ".join(PLANTED) if i % 2 else f"row {i} clean"
            r = c.respmod(body(text, i), url=f"http://mcp.test/tools?token=q{i}")
            assert r.status in (200, 204)
            answered += 1
            blocked = c.respmod(body("\n".join("4111 1111 1111 1111" for _ in range(10)), 1000 + i))
            assert blocked.headers.get("X-DLP-Decision") == "block"
            answered += 1
    assert srv.stop() == 0  # SIGTERM drains the audit queue
    files = sorted(audit.parent.glob("audit.w*.jsonl"))
    assert files, list(audit.parent.iterdir())
    records = [json.loads(line) for f in files for line in f.read_text().splitlines()]
    assert len(records) == answered
    assert len({r["incident_id"] for r in records}) == answered
    decisions = [r["decision"] for r in records]
    assert decisions.count("block") == 40 and decisions.count("redact") == 20 and decisions.count("allow") == 20
    red = next(r for r in records if r["decision"] == "redact")
    assert red["schema"] == "icap-dlp.audit/1"
    assert set(red["rules"]) >= {"redact-credentials", "redact-structured-pii"}
    det = {f["detector"]: f for f in red["findings"]}
    assert det["credit-card"]["masked"] == ["***************1111"]
    assert det["credit-card"]["locations"] == ["$.result.content[0].text"]
    assert len(det["aws-access-key-id"]["fingerprints"][0]) == 16
    assert red["http"]["path"].startswith("/tools?#")  # query hashed, not kept
    everything = "".join(f.read_text() for f in files) + srv.log()
    for value in PLANTED:
        assert value not in everything, value
    assert "token=q" not in everything


def _rsyslog_conf(d: Path, udp: int, tcp: int) -> Path:
    conf = d / "rsyslog.conf"
    conf.write_text(f"""
global(workDirectory="{d}")
module(load="imudp")
module(load="imtcp")
input(type="imudp" address="127.0.0.1" port="{udp}")
input(type="imtcp" address="127.0.0.1" port="{tcp}")
template(name="raw" type="string" string="%msg%\\n")
*.* action(type="omfile" file="{d}/received.log" template="raw")
""")
    return conf


@pytest.mark.e2e
def test_cef_records_reach_a_real_rsyslog(server_factory) -> None:  # type: ignore[no-untyped-def]
    exe = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
    if not os.path.exists(exe):
        if os.environ.get("CI"):
            pytest.fail("rsyslogd is not installed")
        pytest.skip("rsyslogd is not installed: apt-get install rsyslog")
    d = Path(tempfile.mkdtemp(prefix="icap-dlp-rsyslog-"))
    udp, tcp = free_port(), free_port()
    conf = _rsyslog_conf(d, udp, tcp)
    proc = subprocess.Popen([exe, "-n", "-f", str(conf), "-i", str(d / "rsyslog.pid")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        assert proc.poll() is None, "rsyslogd did not start"
        for proto, port in (("udp", udp), ("tcp", tcp)):
            srv = server_factory("--audit-syslog", f"{proto}://127.0.0.1:{port}", "--audit-format", "cef")
            with IcapClient("127.0.0.1", srv.port) as c:
                r = c.respmod(body("key AKIAIOSFODNN7EXAMPLE", 1))
                assert r.headers.get("X-DLP-Decision") == "redact"
                incident = r.headers.get("X-DLP-Incident")
            srv.stop()
            received = ""
            for _ in range(50):
                received = (d / "received.log").read_text() if (d / "received.log").exists() else ""
                if incident and incident in received:
                    break
                time.sleep(0.1)
            line = next(ln for ln in received.splitlines() if incident and incident in ln)
            assert "CEF:0|icap-dlp|icap-dlp|" in line and "act=redact" in line
            assert "cs1=redact-credentials" in line and "cs4=aws-access-key-id:1" in line
            assert "AKIAIOSFODNN7EXAMPLE" not in received
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        shutil.rmtree(d, ignore_errors=True)


def test_sigterm_during_a_load_run_every_answer_has_exactly_one_record(server_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import threading

    audit = tmp_path / "a" / "audit.jsonl"
    srv = server_factory("--workers", "2", "--audit-file", str(audit), "--audit-clean-allows")
    incidents: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def load(n: int) -> None:
        c = IcapClient("127.0.0.1", srv.port, timeout=10)
        i = 0
        while not stop.is_set():
            i += 1
            try:
                r = c.respmod(body("key AKIAIOSFODNN7EXAMPLE" if i % 2 else "clean", n * 100000 + i))
            except Exception:
                c.close()
                try:
                    c = IcapClient("127.0.0.1", srv.port, timeout=10)
                    c.connect()
                except OSError:
                    return  # the server is gone
                continue
            inc = r.headers.get("X-DLP-Incident")
            if r.status in (200, 204) and inc:
                with lock:
                    incidents.append(inc)
        c.close()

    threads = [threading.Thread(target=load, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    srv.signal(signal.SIGTERM)  # in the middle of the run
    assert srv.proc.wait(30) == 0
    stop.set()
    for t in threads:
        t.join(15)
    records = [json.loads(line) for f in sorted(audit.parent.glob("audit.w*.jsonl"))
               for line in f.read_text().splitlines()]
    recorded = [r["incident_id"] for r in records]
    assert len(incidents) > 100
    assert sorted(recorded) == sorted(set(recorded))  # exactly one record per decision
    assert set(incidents) <= set(recorded)  # every answered decision has its record
