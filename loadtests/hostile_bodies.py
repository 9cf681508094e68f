"""Hostile large bodies: inspection time and worker memory, one shape after another.

    python loadtests/hostile_bodies.py                  # 4 MiB each, plain and gzip, one worker
    python loadtests/hostile_bodies.py --mib 1 --shape ndjson-rows --shape numbers-array

Starts its own icap-dlp (one worker, the embedded default policy) and sends, on a fresh
connection each, bodies shaped the way tool output can hurt a DLP service: dense findings
(cards, emails), rows of short fields (NDJSON, content items), arrays of long numbers, a base64
blob that decodes to text, and typical tool output for comparison. After each answer it reads
the worker's RSS (once it stops changing) and peak RSS (VmHWM) from /proc. While each large body is inspected it also
sends small 4 KB RESPMODs on another connection: a large body is inspected on the worker's
inspection thread (``--offload-body-bytes``), so they are answered meanwhile
(``small_answered_during``). Prints one JSON line per body and exits 1 if an answer is not the
expected decision or a block (a failure-policy block, ``block (timeout:closed)``, is safe: a
pattern's time budget ran out on dense values).
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import random
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_icap import _children, _status_kb, start_icap_dlp
from payloads import typical_text

from icap_dlp.client import IcapClient
from icap_dlp.content import ContentLimits

MiB = 1 << 20


def _mcp(text: str) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text": text}]}}).encode()


def shapes(size: int) -> dict[str, tuple[Callable[[], bytes], str, str]]:
    """name -> (body maker, content type, expected decision)."""
    rng = random.Random(3)
    return {
        "typical": (lambda: _mcp(typical_text(size - 200)), "application/json", "block"),
        "cards-dense": (lambda: _mcp(" ".join("4111 1111 1111 1111" for _ in range(size // 20))),
                        "application/json", "block"),
        "emails-dense": (lambda: _mcp(" ".join(f"u{i}@example.com" for i in range(size // 18))),
                         "application/json", "redact"),
        "content-items": (lambda: json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"content": [
            {"type": "text", "text": f"x{i}"} for i in range(size // 30)]}}).encode(), "application/json",
            # four values and keys an item: at 4 MiB, 559,000, past --max-body-leaves (oversize, closed)
            "block" if size // 30 * 4 > ContentLimits().max_leaves else "allow"),
        "numbers-array": (lambda: json.dumps([rng.randrange(10**14, 10**15) for _ in range(size // 17)]).encode(),
                          "application/json", "block"),
        "base64-text": (lambda: _mcp(base64.b64encode(typical_text(size * 3 // 4).encode()).decode()),
                        "application/json", "redact"),
        "ndjson-rows": (lambda: b"\n".join(json.dumps({"id": i, "email": f"u{i}@example.com", "note": "hello"}).encode()
                                           for i in range(size // 55)), "application/x-ndjson", "redact"),
    }


def _mem(pid: int) -> dict[str, float]:
    return {field: round(_status_kb(pid, field) / 1024, 1) for field in ("VmHWM", "VmRSS")}


def _settle(workers: list[int], limit: float = 3.0) -> None:
    """Until each worker's RSS stays the same over 0.2 s (at most ``limit`` seconds): the heap is
    trimmed on the inspection thread right after a large transaction ends."""
    deadline = time.monotonic() + limit
    last = [_mem(p)["VmRSS"] for p in workers]
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = [_mem(p)["VmRSS"] for p in workers]
        if now == last:
            return
        last = now


def _decision(r: object) -> str:
    """The answer's decision; a failure answer (``timeout``, ``oversize``) as ``block (timeout)``."""
    status = r.status  # type: ignore[attr-defined]
    if status == 204:
        return "allow"
    got = str(r.headers.get("X-DLP-Decision") or status)  # type: ignore[attr-defined]
    failure = r.headers.get("X-DLP-Failure")  # type: ignore[attr-defined]
    return f"{got} ({failure})" if failure else got


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=float, default=4.0, help="body size in MiB (before compression)")
    ap.add_argument("--shape", action="append", help="repeatable (default: all)")
    ap.add_argument("--no-gzip", action="store_true", help="plain bodies only")
    args = ap.parse_args()
    size = int(args.mib * MiB)
    table = shapes(size)
    wanted = args.shape or list(table)
    proc, port = start_icap_dlp(1, extra=["--max-body-bytes", str(max(16 * MiB, 2 * size))])
    ok = True
    try:
        workers = [p for p in _children(proc.pid) if b"resource_tracker" not in Path(f"/proc/{p}/cmdline").read_bytes()]
        print(json.dumps({"start": {p: _mem(p) for p in workers}}), flush=True)
        for name in wanted:
            make, ctype, want = table[name]
            body = make()
            for enc in (None,) if args.no_gzip else (None, "gzip"):
                data = gzip.compress(body, 1) if enc else body
                done = threading.Event()
                small: list[float] = []

                def others(done: threading.Event = done, small: list[float] = small) -> None:
                    # small RESPMODs on another connection meanwhile
                    with IcapClient("127.0.0.1", port, timeout=120) as c:
                        while not done.is_set():
                            c.respmod(_mcp("contact alice@example.com about the invoice"))
                            small.append(time.monotonic())
                            done.wait(0.05)

                th = threading.Thread(target=others)
                with IcapClient("127.0.0.1", port, timeout=600) as c:
                    t = time.monotonic()
                    th.start()
                    r = c.respmod(data, content_type=ctype,
                                  extra_response_headers={"Content-Encoding": "gzip"} if enc else None)
                    took = time.monotonic() - t
                done.set()
                th.join(120)
                _settle(workers)
                got = _decision(r)
                # A block by the failure policy (a pattern over its time budget on dense values)
                # is a safe answer too; passing what should be redacted or blocked is not.
                ok = ok and (got == want or (want != "allow" and got.startswith("block")))
                print(json.dumps({"shape": name, "encoding": enc or "identity", "mib": round(len(body) / MiB, 2),
                                  "wire_mib": round(len(data) / MiB, 2), "seconds": round(took, 2),
                                  "mib_s": round(len(body) / MiB / took, 2), "decision": got, "expected": want,
                                  "small_answered_during": sum(1 for s in small if s < t + took),
                                  "workers": {p: _mem(p) for p in workers}}), flush=True)
    finally:
        proc.terminate()
        proc.wait(30)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
