"""The load-test harness itself: the figures in loadtests/README.md come from these tools, so they
must keep working and keep measuring what they claim (real servers on loopback, no mocks)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from icap_dlp.icap import NEED_DATA, BodyChunk, EndOfMessage, IcapParser, IcapRequest, Limits
from tests.conftest import REPO
from tests.e2e.conftest import require

sys.path.insert(0, str(REPO / "loadtests"))
import bench_icap
import compare
from payloads import SCENARIOS


def test_raw_request_bytes_are_one_valid_icap_request() -> None:
    for scenario in ("respmod-4k-secrets", "reqmod-tools-call"):
        data = bench_icap.request_bytes(scenario, 1344)
        p = IcapParser(Limits())
        p.feed(data)
        events = []
        while True:
            ev = p.next_event()
            if ev is NEED_DATA:
                break
            events.append(ev)
        req = events[0]
        assert isinstance(req, IcapRequest) and req.method.value == SCENARIOS[scenario][1]
        body = b"".join(e.data for e in events if isinstance(e, BodyChunk))
        assert body == SCENARIOS[scenario][3]
        assert isinstance(events[-1], EndOfMessage) and p.buffered == 0


@pytest.mark.slow
@pytest.mark.parametrize("raw", [False, True])
def test_measure_counts_answers_and_server_cpu(server_factory, raw: bool) -> None:  # type: ignore[no-untyped-def]
    srv = server_factory("--workers", "1")
    res = bench_icap.measure(srv.port, "respmod-4k-secrets", connections=2, seconds=1.0, server_pid=srv.pid,
                             raw=raw, depth=2)
    n = res["requests"]
    assert isinstance(n, int) and n > 10
    assert res["errors"] == 0
    assert res["statuses"] == {200: n}  # the card, email and AWS key are redacted: a 200 every time
    cpu = res["server_cpu_ms_per_req"]
    assert isinstance(cpu, float) and 0 < cpu < 1000


@pytest.mark.slow
def test_cicap_baseline_really_filters() -> None:
    """The comparison is only fair if c-icap does the work: it must redact the same secrets."""
    require("c-icap")
    # c-icap runs as nobody when started by root: its directory must be reachable (pytest's is 0700).
    rundir = Path(tempfile.mkdtemp(prefix="icap-compare-test-", dir="/tmp"))
    started = compare.start_cicap(rundir)
    assert started is not None, "c-icap or srv_content_filtering.so not found"
    proc, port = started
    try:
        from icap_dlp.client import IcapClient

        with IcapClient("127.0.0.1", port) as c:
            r = c.respmod(SCENARIOS["respmod-4k-secrets"][3], service="srv_cfg_filter")
        assert r.status == 200
        body = r.body or b""
        assert b"[REDACTED-CC]" in body and b"[REDACTED-EMAIL]" in body and b"[REDACTED-AWS-KEY]" in body
        assert b"4111 1111 1111 1111" not in body
    finally:
        compare.stop(proc)
        shutil.rmtree(rundir, ignore_errors=True)
    assert proc.poll() is not None


@pytest.mark.slow
def test_locust_headless_run_has_no_failures(server_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    srv = server_factory("--workers", "1")
    csv = tmp_path / "run"
    out = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(REPO / "loadtests" / "locustfile.py"), "--headless",
         "--host", f"icap://127.0.0.1:{srv.port}", "-u", "4", "-r", "4", "-t", "3s", "--only-summary",
         "--csv", str(csv)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    stats = (tmp_path / "run_stats.csv").read_text().splitlines()
    header = stats[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=True)) for line in stats[1:]]
    total = next(r for r in rows if r["Name"] == "Aggregated")
    assert int(total["Request Count"]) > 20 and int(total["Failure Count"]) == 0
    names = {r["Name"] for r in rows}
    assert {"respmod-4k-clean", "reqmod-tools-call"} <= names  # the weighted mix, named by scenario


@pytest.mark.ner
def test_gate_agreement_counts_what_the_gate_keeps() -> None:
    """The gate passes capitalised names with their context to spaCy and skips text with none:
    on a document of names it keeps every PERSON ungated spaCy finds; on lower-case log text
    neither finds any; and the shares are the counts behind them."""
    import bench_detection

    names = ("Ticket 4411 was escalated by Maria Garcia to John Smith in Lisbon. "
             "Later Maria Garcia asked Peter Jones for the report. ")
    logs = "2026-11-26t10:00:01z info worker 3 served request 7f3a9c in 12 ms\n" * 20
    out = bench_detection.gate_agreement(contexts=(32,), docs=[names, logs])
    row = out["context_32"]
    assert isinstance(row, dict) and out["docs"] == 2
    person = row["PERSON"]
    assert person["ungated"] >= 3  # Maria Garcia (twice), John Smith, Peter Jones
    assert person["both"] == person["ungated"] and person["kept"] == 1.0
    for et in ("PERSON", "ORGANIZATION", "LOCATION", "NRP"):
        r = row[et]
        assert r["kept"] == round(r["both"] / max(1, r["ungated"]), 3)
        assert r["also_ungated"] == round(r["both"] / max(1, r["gated"]), 3)
    assert row["LOCATION"]["ungated"] >= 1  # Lisbon


def test_fuzzer_flags_a_server_that_drops_connections() -> None:
    """The fuzz harness must be able to fail: a listener that closes every connection unanswered."""
    import socket
    import threading

    import fuzz_icap

    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(64)
    port = lsock.getsockname()[1]
    stop = threading.Event()

    def drop() -> None:
        lsock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = lsock.accept()
            except OSError:
                continue
            conn.close()

    t = threading.Thread(target=drop)
    t.start()
    try:
        res = fuzz_icap.fuzz(port, 40, seed=3, threads=4)
    finally:
        stop.set()
        t.join()
        lsock.close()
    assert len(res.failures) >= 30
    assert any("closed without an answer" in f for f in res.failures)
    assert any("liveness" in f for f in res.failures)


def test_fuzzer_response_parser() -> None:
    import fuzz_icap

    ok = b"ICAP/1.0 204 No Content\r\nISTag: \"x\"\r\nEncapsulated: null-body=0\r\n\r\n"
    assert fuzz_icap.parse_responses(ok + ok) == ([204, 204], False)
    streamed = (b"ICAP/1.0 200 OK\r\nISTag: \"x\"\r\nEncapsulated: res-hdr=0, res-body=19\r\n\r\n"
                b"HTTP/1.1 200 OK\r\n\r\n5\r\nhel")
    assert fuzz_icap.parse_responses(streamed) == ([200], True)
    with pytest.raises(fuzz_icap.IcapClientError):
        fuzz_icap.parse_responses(b"HTTP/1.1 200 OK\r\n\r\n")
    with pytest.raises(fuzz_icap.IcapClientError):
        fuzz_icap.parse_responses(ok[:20])


def test_typical_tool_output_is_what_the_issue_describes() -> None:
    """Logs with ISO timestamps and 64-bit hex request ids, JSON lines with 128-bit hex ids and
    SKU codes, about 1 % sensitive tokens; the same text for the same seed."""
    import re

    from payloads import typical_text

    text = typical_text(1 << 16)
    assert text == typical_text(1 << 16) and len(text) == 1 << 16
    assert len(re.findall(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \w+ req=[0-9a-f]{16} ", text)) > 100
    assert len(re.findall(r'"id": "[0-9a-f]{32}", "sku": "SKU-\d{5}-[A-H]\d"', text)) > 50
    tokens = text.split()
    sensitive = sum(t in ("AKIAIOSFODNN7EXAMPLE", "123-45-6789") or "@" in t or t.startswith("ghp_") for t in tokens)
    assert 0.001 < sensitive / len(tokens) < 0.02
    assert {"respmod-4k-typical", "respmod-64k-typical"} <= set(SCENARIOS)
    assert set(compare.SCENARIOS) <= set(SCENARIOS)


def test_hostile_bodies_reports_decisions_memory_and_others_answered() -> None:
    """hostile_bodies.py against a real server: each body answered with its expected decision,
    the worker's RSS and peak read, and small requests answered while a large one (over the
    offload size) is inspected."""
    import json

    out = subprocess.run([sys.executable, str(REPO / "loadtests" / "hostile_bodies.py"), "--mib", "0.5", "--no-gzip",
                          "--shape", "numbers-array", "--shape", "emails-dense"],
                         capture_output=True, text=True, timeout=300, cwd=REPO)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert "start" in rows[0]
    by_shape = {r["shape"]: r for r in rows[1:]}
    assert by_shape["numbers-array"]["decision"].startswith("block")
    assert by_shape["emails-dense"]["decision"] == "redact"
    for r in by_shape.values():
        (mem,) = r["workers"].values()
        assert 0 < mem["VmRSS"] <= mem["VmHWM"]
    assert by_shape["numbers-array"]["small_answered_during"] >= 1  # seconds of inspection off the loop
