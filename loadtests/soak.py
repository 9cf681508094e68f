"""Soak test: mixed traffic for a long while, worker RSS sampled, the plateau checked.

    python loadtests/soak.py --seconds 600            # starts its own server (2 workers), 10 minutes
    python loadtests/soak.py --seconds 60 --from 20    # a short run (what the harness test does)

Traffic, from ``--threads`` client threads on loopback, each picking a kind per request:
clean 4 KB MCP results, results with secrets (redacted), card dumps (blocked), streamed SSE with
a secret per event, REQMOD tool calls, gzip bodies, a 1 MB JSON body now and then, malformed ICAP
(garbage, bad chunk sizes, oversized headers) and slow clients that send half a head and stall
until the server's header timeout closes them.

Every ``--sample`` seconds the RSS of each worker is read from /proc. The verdict compares each
worker's RSS at the end with its RSS at ``--from`` seconds (default 120: after warm-up): within
``--tolerance`` (10 %) is a plateau (``rss_plateau``). A worker that was restarted (new PID)
fails it. Every answer is checked too (``traffic_ok``: clean bodies 204, secrets never passed,
malformed and slow clients answered 4xx). Prints one JSON line per sample and a summary; exit 1
when either check fails.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import socket
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_icap import _children, _status_kb, start_icap_dlp

from icap_dlp.client import IcapClient, IcapClientError

SECRET = "AKIAIOSFODNN7EXAMPLE"


def mcp(text: str, rpc_id: int = 1) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": rpc_id,
                       "result": {"content": [{"type": "text", "text": text}]}}).encode()


def _log_text(rng: random.Random, n: int) -> str:
    lines = []
    for i in range(n):
        lines.append(f"2026-11-26T10:{i % 60:02d}:{rng.randrange(60):02d}Z INFO req={rng.getrandbits(64):016x} "
                     f"served /api/v1/items/{rng.randrange(10**6)} in {rng.randrange(900)} ms")
    return "\n".join(lines)


def one_request(rng: random.Random, port: int, kind: str) -> str:
    """Send one request of ``kind``; return the outcome label ("ok" or what went wrong)."""
    if kind == "slow":
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(b"RESPMOD icap://127.0.0.1/respmod ICAP/1.0\r\nHost: x\r\n")
            data = s.recv(65536)  # the server's header timeout answers 408 and closes
            return "ok" if data.startswith(b"ICAP/1.0 408") else f"slow: {data[:40]!r}"
    if kind == "malformed":
        junk = rng.choice([b"GARBAGE\r\n\r\n", b"RESPMOD icap://h/respmod ICAP/1.0\r\nEncapsulated: res-hdr=0, "
                           b"res-body=19\r\n\r\nHTTP/1.1 200 OK\r\n\r\nzz\r\n", b"OPTIONS icap://h/r ICAP/1.0\r\nX: "
                           + b"a" * 70000 + b"\r\n\r\n"])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(junk)
            data = s.recv(65536)
            return "ok" if data.startswith(b"ICAP/1.0 4") else f"malformed: {data[:40]!r}"
    with IcapClient("127.0.0.1", port, timeout=60) as c:
        if kind == "clean":
            r = c.respmod(mcp(_log_text(rng, 30)))
            want = {204}
        elif kind == "redact":
            r = c.respmod(mcp(f"{_log_text(rng, 20)}\nkey {SECRET} mail bob{rng.randrange(999)}@example.com"))
            want = {200}
        elif kind == "block":
            cards = " ".join("4111 1111 1111 1111" for _ in range(12))
            r = c.respmod(mcp(f"dump {cards}"))
            want = {200}
        elif kind == "sse":
            events = b"".join(b"data: " + mcp(f"event {i} key {SECRET}", i) + b"\n\n" for i in range(5))
            r = c.respmod(events, content_type="text/event-stream", allow_204=False)
            want = {200}
        elif kind == "reqmod":
            body = json.dumps({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
                               "params": {"name": "crm", "arguments": {"q": f"bob@example.com {rng.random()}"}}})
            r = c.reqmod(body.encode())
            want = {200}
        elif kind == "gzip":
            r = c.respmod(gzip.compress(mcp(f"{_log_text(rng, 20)} {SECRET}")),
                          extra_response_headers={"Content-Encoding": "gzip"})
            want = {200}
        else:  # big
            r = c.respmod(mcp(_log_text(rng, 12000) + f" {SECRET}"))
            want = {200}
        if r.status not in want:
            return f"{kind}: status {r.status}"
        if kind != "clean" and SECRET.encode() in (r.body or b""):
            return f"{kind}: secret passed"
        return "ok"


KINDS = [("clean", 40), ("redact", 20), ("block", 5), ("sse", 10), ("reqmod", 10), ("gzip", 6), ("big", 1),
         ("malformed", 5), ("slow", 3)]


def soak(port: int, server_pid: int, seconds: float, threads: int, sample: float, check_from: float,
         tolerance: float, out: list[dict[str, object]] | None = None) -> dict[str, object]:
    stop = time.monotonic() + seconds
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    names = [k for k, _ in KINDS]
    weights = [w for _, w in KINDS]

    def client(i: int) -> None:
        rng = random.Random(i)
        while time.monotonic() < stop:
            kind = rng.choices(names, weights)[0]
            try:
                res = one_request(rng, port, kind)
            except (OSError, IcapClientError) as exc:
                res = f"{kind}: {type(exc).__name__}"
            with lock:
                outcomes[res] += 1

    workers = [k for k in _children(server_pid) if b"spawn_main" in Path(f"/proc/{k}/cmdline").read_bytes()]
    ts = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(threads)]
    t0 = time.monotonic()
    for t in ts:
        t.start()
    samples: list[dict[str, object]] = []
    while time.monotonic() < stop:
        time.sleep(min(sample, max(0.0, stop - time.monotonic())))
        now = [k for k in _children(server_pid) if b"spawn_main" in Path(f"/proc/{k}/cmdline").read_bytes()]
        row: dict[str, object] = {"t": round(time.monotonic() - t0, 1),
                                  "rss_mb": {str(p): round(_status_kb(p) / 1024, 1) for p in now},
                                  "requests": sum(outcomes.values())}
        samples.append(row)
        if out is not None:
            out.append(row)
        print(json.dumps(row), flush=True)
    for t in ts:
        t.join(90)
    first = next((s for s in samples if float(s["t"]) >= check_from), samples[0])  # type: ignore[arg-type]
    last = samples[-1]
    verdict: dict[str, object] = {"seconds": seconds, "requests": sum(outcomes.values()),
                                  "failures": {k: v for k, v in outcomes.items() if k != "ok"}, "workers": {}}
    ok = True
    for pid in workers:
        a = first["rss_mb"].get(str(pid))  # type: ignore[attr-defined]
        b = last["rss_mb"].get(str(pid))  # type: ignore[attr-defined]
        if a is None or b is None:
            verdict["workers"][str(pid)] = "restarted or gone"  # type: ignore[index]
            ok = False
            continue
        growth = (b - a) / a
        verdict["workers"][str(pid)] = {"rss_at_from_mb": a, "rss_end_mb": b,  # type: ignore[index]
                                        "growth": round(growth, 3)}
        ok = ok and growth <= tolerance
    verdict["rss_plateau"] = ok
    verdict["traffic_ok"] = not verdict["failures"]
    return verdict


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--from", dest="check_from", type=float, default=120)
    ap.add_argument("--sample", type=float, default=10)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--tolerance", type=float, default=0.10)
    args = ap.parse_args()
    server, port = start_icap_dlp(args.workers, extra=["--header-timeout", "2", "--max-body-bytes", str(4 << 20)])
    try:
        verdict = soak(port, server.pid, args.seconds, args.threads, args.sample, args.check_from, args.tolerance)
    finally:
        server.terminate()
        server.wait(60)
    print(json.dumps({"verdict": verdict}))
    return 0 if verdict["rss_plateau"] and verdict["traffic_ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
