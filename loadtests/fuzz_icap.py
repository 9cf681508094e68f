"""A seeded mutation fuzzer for the ICAP listener: no crash, no hang, every answer parseable.

    python loadtests/fuzz_icap.py --count 3000 --seed 1            # starts its own server (2 workers)
    python loadtests/fuzz_icap.py --port 1344 --count 500          # against a running server

Seeds are the recorded Squid transcripts (tests/fixtures/captures) and requests built by the
project's client: OPTIONS, REQMOD and RESPMOD with JSON, SSE, previews, gzip. Each case is one
mutation or a few (byte flips, inserts, deletions, duplicated ranges, truncation, huge or Unicode
numbers, bare LF line ends, odd chunk sizes, long header values) sent on its own connection,
sometimes in small pieces. A case fails when:

* the server closes the connection without a byte (a crash or an unhandled exception drops it),
* it answers bytes that are not a sequence of well-formed ICAP responses,
* it neither answers nor closes within the server's own header and read timeouts plus a margin,
* a clean request on a fresh connection fails afterwards (liveness), or a worker died
  (``worker exited unexpectedly`` in the server log).

It sends traffic only to 127.0.0.1. Exit status 1 on any failure, with the seed and case number
to replay it (``--only N``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from icap_dlp.client import IcapClient, IcapClientError, encode_chunked, encode_head, reqmod_head, respmod_heads

REPO = Path(__file__).resolve().parent.parent
CAPTURES = REPO / "tests" / "fixtures" / "captures"
TIMEOUT_FLAGS = ["--header-timeout", "1", "--read-timeout", "1", "--idle-timeout", "2"]
MARGIN = 6.0  # seconds beyond the server's own timeouts before a case counts as a hang


def seeds(port: int) -> list[bytes]:
    out = [p.read_bytes() for p in sorted(CAPTURES.glob("*.bin"))]
    uri = f"icap://127.0.0.1:{port}"
    rpc = json.dumps({"jsonrpc": "2.0", "id": 7, "result": {"content": [
        {"type": "text", "text": "card 4111 1111 1111 1111 key AKIAIOSFODNN7EXAMPLE"}]}}).encode()
    call = json.dumps({"jsonrpc": "2.0", "id": 8, "method": "tools/call",
                       "params": {"name": "q", "arguments": {"email": "alice@example.com"}}}).encode()
    sse = b"event: message\ndata: " + rpc + b"\n\n"
    out.append(f"OPTIONS {uri}/respmod ICAP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
    for body, ctype, preview in ((rpc, "application/json", None), (rpc, "application/json", 0),
                                 (sse, "text/event-stream", None), (gzip.compress(rpc), "application/json", 16)):
        extra = {"Content-Encoding": "gzip"} if body[:2] == b"\x1f\x8b" else None
        req, res = respmod_heads(body, ctype, extra_response_headers=extra)
        head = encode_head("RESPMOD", f"{uri}/respmod", "127.0.0.1", http_request=req, http_response=res,
                           has_body=True, preview=preview, allow_204=True)
        if preview is None:
            out.append(head + encode_chunked(body, 37))
        else:
            first, rest = body[:preview], body[preview:]
            out.append(head + encode_chunked(first, 37)[:-5] + b"0; ieof\r\n\r\n" if not rest
                       else head + encode_chunked(first, 37) + encode_chunked(rest, 37))
    head = encode_head("REQMOD", f"{uri}/reqmod", "127.0.0.1", http_request=reqmod_head(call), has_body=True,
                       preview=None, allow_204=True)
    out.append(head + encode_chunked(call, 64))
    return out


NUMBERS = [b"9" * 5000, b"\xb2", b"-1", b"0x10", b"18446744073709551617", b"", b" 1", b"1e3", b"\xd9\xa3"]
JUNK = [b"\r\n", b"\n", b"\r", b"\x00", b": ", b";", b"=", b",", b"ieof", b"\xff\xfe", b"\xe2\x80\x8b",
        b"Encapsulated: ", b"Preview: ", b"Connection: close\r\n", b"0\r\n\r\n", b"A" * 70000]


def mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 3, 5))):
        op = rng.randrange(9)
        n = len(buf)
        at = rng.randrange(n + 1) if n else 0
        if op == 0 and n:  # flip bytes
            for _ in range(rng.randint(1, 4)):
                i = rng.randrange(n)
                buf[i] = rng.randrange(256)
        elif op == 1:  # insert junk
            buf[at:at] = rng.choice(JUNK)
        elif op == 2 and n:  # delete a range
            buf[at:at + rng.randint(1, 64)] = b""
        elif op == 3 and n:  # duplicate a range
            end = min(n, at + rng.randint(1, 200))
            buf[at:at] = buf[at:end]
        elif op == 4 and n:  # truncate
            del buf[rng.randrange(n):]
        elif op == 5:  # a number becomes hostile
            digits = [i for i in range(n) if 48 <= buf[i] <= 57]
            if digits:
                i = rng.choice(digits)
                j = i
                while j < n and 48 <= buf[j] <= 57:
                    j += 1
                buf[i:j] = rng.choice(NUMBERS)
        elif op == 6:  # bare LF line ends
            buf = bytearray(bytes(buf).replace(b"\r\n", b"\n", rng.randint(1, 8)))
        elif op == 7:  # a chunk size line goes wrong
            k = bytes(buf).find(b"\r\n\r\n")
            if k >= 0:
                buf[k + 4:k + 4] = rng.choice([b"fffffffffffffffff\r\n", b"zz\r\n", b"-5\r\n", b"5 ; x=" + b"y" * 2000
                                               + b"\r\n"])
        else:  # append a second (possibly broken) request: pipelining
            buf += rng.choice([b"OPTIONS icap://127.0.0.1/respmod ICAP/1.0\r\n\r\n", b"GARBAGE\r\n\r\n", data[:40]])
    return bytes(buf)


@dataclass
class Result:
    cases: int = 0
    answered: int = 0
    cut_streams: int = 0
    failures: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)


def read_all(sock: socket.socket, deadline: float) -> tuple[bytes, bool]:
    """Everything the server sends until it closes; (bytes, closed) - closed False on a hang."""
    out = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return out, False
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return out, False
        except OSError:
            return out, True  # reset by the server: a close
        if not chunk:
            return out, True
        out += chunk


class _Replay(IcapClient):
    """Parses a recorded byte stream with the client's response parser."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self._buf = bytearray(data)

    def _fill(self) -> None:
        raise IcapClientError("truncated response")


def parse_responses(data: bytes) -> tuple[list[int], bool]:
    """Statuses of the well-formed ICAP responses that make up ``data``, and whether the last one
    is a 200 whose body was cut by a close (the server's only signal once an answer is streaming:
    a deliberate close, counted apart). Raises on anything else."""
    r = _Replay(data)
    statuses = []
    while r._buf:
        head_done = b"\r\n\r\n" in r._buf
        streaming = bytes(r._buf[:13]) == b"ICAP/1.0 200 "
        try:
            resp = r.read_response()
        except IcapClientError as exc:
            if str(exc) == "truncated response" and head_done and streaming:
                statuses.append(200)
                return statuses, True
            raise
        statuses.append(resp.status)
    return statuses, False


def run_case(port: int, payload: bytes, rng: random.Random, hang_after: float) -> tuple[str | None, list[int]]:
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    except OSError as exc:
        return f"connect failed: {exc}", []
    with sock:
        try:
            if rng.random() < 0.2:  # in pieces, like a slow or fragmenting client
                i = 0
                while i < len(payload):
                    step = rng.randint(1, 300)
                    sock.sendall(payload[i:i + step])
                    i += step
            else:
                sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR) if rng.random() < 0.3 else None
        except OSError:
            pass  # the server may close early (a 400 after a bad head): read what it said
        data, closed = read_all(sock, time.monotonic() + hang_after)
    if not closed:
        return f"hang: no close within {hang_after:.0f} s ({len(data)} bytes answered)", []
    if not data:
        if not payload.strip(b"\r\n"):
            return None, []  # nothing but blank lines: an idle connection, closed without a word
        return "closed without an answer", []
    try:
        statuses, cut = parse_responses(data)
    except (IcapClientError, ValueError, IndexError) as exc:
        return f"unparseable answer ({exc}): {data[:200]!r}", []
    return None, statuses + ([-1] if cut else [])


def alive(port: int) -> str | None:
    try:
        with IcapClient("127.0.0.1", port, timeout=10) as c:
            r = c.respmod(b'{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"ok"}]}}')
            return None if r.status == 204 else f"liveness: clean request got {r.status}"
    except (OSError, IcapClientError) as exc:
        return f"liveness: {exc}"


def fuzz(port: int, count: int, seed: int, threads: int = 16, only: int | None = None,
         hang_after: float = 2 + MARGIN, log: Path | None = None) -> Result:
    base = seeds(port)
    res = Result()
    lock = threading.Lock()
    todo = [only] if only is not None else list(range(count))

    def worker(ids: list[int]) -> None:
        for n in ids:
            rng = random.Random(seed * 1_000_003 + n)
            payload = mutate(rng, rng.choice(base))
            failure, statuses = run_case(port, payload, rng, hang_after)
            with lock:
                res.cases += 1
                if failure:
                    res.failures.append(f"case {n}: {failure}")
                else:
                    res.answered += 1
                    for s in statuses:
                        if s == -1:
                            res.cut_streams += 1
                        else:
                            res.statuses[s] = res.statuses.get(s, 0) + 1
            if n % 250 == 0:
                problem = alive(port)
                if problem:
                    with lock:
                        res.failures.append(f"after case {n}: {problem}")
    parts = [todo[i::threads] for i in range(threads)]
    ts = [threading.Thread(target=worker, args=(p,)) for p in parts if p]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    problem = alive(port)
    if problem:
        res.failures.append(f"at the end: {problem}")
    if log is not None:
        text = log.read_text(errors="replace")
        for marker in ("worker exited unexpectedly", "Unhandled exception", "Traceback"):
            if marker in text:
                res.failures.append(f"server log has {marker!r}")
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, help="a running server (default: start one with short timeouts)")
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--only", type=int, help="replay one case number")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    server = None
    log = None
    port = args.port
    if port is None:
        from bench_icap import start_icap_dlp

        log = Path(tempfile.mkdtemp()) / "server.log"
        server, port = start_icap_dlp(args.workers, extra=TIMEOUT_FLAGS, log_path=log)
    t0 = time.monotonic()
    try:
        res = fuzz(port, args.count, args.seed, args.threads, args.only, log=log)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
    took = time.monotonic() - t0
    top = sorted(res.statuses.items())
    print(json.dumps({"cases": res.cases, "answered": res.answered, "failures": len(res.failures),
                      "streams_cut_by_close": res.cut_streams,
                      "statuses": dict(top), "seconds": round(took, 1), "seed": args.seed}))
    for f in res.failures[:20]:
        print("FAIL", f)
    if res.failures:
        return 1
    print(f"fuzz: {res.cases} passed, 0 failed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
