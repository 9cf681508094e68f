"""Closed-loop ICAP benchmark with the project's own client.

    python loadtests/bench_icap.py --port 1344 --connections 8 --seconds 10 --scenario respmod-4k-clean
    python loadtests/bench_icap.py --start --workers 2 --scenario respmod-4k-typical   # typical tool output

Each connection is a separate process with one persistent (keep-alive) ICAP connection sending
requests back to back. Prints req/s, MB/s and latency percentiles; ``--start`` starts a server
itself (``--workers N``, ``--policy``) on a free port and reports the RSS of its worker processes.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import socket
import ssl
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from payloads import SCENARIOS

from icap_dlp.client import IcapClient, encode_chunked, encode_head, reqmod_head, respmod_heads


def _loop(port: int, scenario: str, seconds: float, preview: int | None, allow_204: bool,
          out: mp.Queue, service: str | None = None, tls_ca: str | None = None) -> None:  # type: ignore[type-arg]
    _, method, ctype, body = SCENARIOS[scenario]
    tls = ssl.create_default_context(cafile=tls_ca) if tls_ca else None
    c = IcapClient("127.0.0.1", port, timeout=60, tls=tls)
    lat: list[float] = []
    errors = 0
    statuses: dict[int, int] = {}
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t = time.perf_counter()
        try:
            if method == "RESPMOD":
                r = c.respmod(body, content_type=ctype, preview=preview, allow_204=allow_204,
                              service=service or "respmod")
            else:
                r = c.reqmod(body, content_type=ctype, preview=preview, allow_204=allow_204,
                             service=service or "reqmod")
            statuses[r.status] = statuses.get(r.status, 0) + 1
            if r.status not in (200, 204):
                errors += 1
        except Exception:
            errors += 1
            c.close()
        lat.append(time.perf_counter() - t)
    c.close()
    out.put((lat, errors, statuses))


def request_bytes(scenario: str, port: int, service: str | None = None, allow_204: bool = True) -> bytes:
    """The bytes IcapClient sends for ``scenario`` without preview (for --raw): the same functions."""
    _, method, ctype, body = SCENARIOS[scenario]
    if method == "RESPMOD":
        req, res = respmod_heads(body, ctype)
    else:
        req, res = reqmod_head(body, ctype), None
    head = encode_head(method, f"icap://127.0.0.1:{port}/{service or method.lower()}", "127.0.0.1",
                       http_request=req, http_response=res, allow_204=allow_204)
    return head + encode_chunked(body)


async def _raw_connection(port: int, payload: bytes, end: float, lat: list[float], statuses: dict[int, int],
                          depth: int) -> int:
    """Send ``depth`` pipelined requests, read their answers, repeat (latency: per request, from
    the batch's send to its answer)."""
    import asyncio

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    errors = 0
    clock = time.perf_counter
    batch = payload * depth
    try:
        while clock() < end:
            t = clock()
            writer.write(batch)
            async with asyncio.timeout(30):  # a stalled server is an error, never a hang
                for _ in range(depth):
                    head = await reader.readuntil(b"\r\n\r\n")
                    status = int(head[9:12])
                    statuses[status] = statuses.get(status, 0) + 1
                    if b"null-body" not in head:
                        encap = head.split(b"Encapsulated:", 1)[1].split(b"\r\n", 1)[0]
                        body_at = int(encap.rsplit(b"=", 1)[1])
                        await reader.readexactly(body_at)
                        await reader.readuntil(b"\r\n0\r\n\r\n")
                    if status not in (200, 204):
                        errors += 1
                    lat.append(clock() - t)
    except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
        errors += 1
    writer.close()
    return errors


def _raw_loop(port: int, scenario: str, seconds: float, connections: int, service: str | None,
              allow_204: bool, depth: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    """One process, ``connections`` asyncio connections sending pre-built requests: a load
    generator cheap enough to leave the cores to the server (for the worker-scaling figure)."""
    import asyncio

    payload = request_bytes(scenario, port, service, allow_204)
    lat: list[float] = []
    statuses: dict[int, int] = {}

    async def run() -> int:
        end = time.perf_counter() + seconds
        errs = await asyncio.gather(*(_raw_connection(port, payload, end, lat, statuses, depth)
                                      for _ in range(connections)))
        return sum(errs)

    try:
        import uvloop

        errors = uvloop.run(run())
    except ImportError:
        errors = asyncio.run(run())
    out.put((lat, errors, statuses))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _status_kb(pid: int, field: str = "VmRSS") -> int:
    """A kB field of /proc/PID/status (VmRSS: resident now, VmHWM: its peak); 0 if absent."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(_children(p))
    return out


def _cpu_seconds(pids: list[int]) -> float:
    """user + system CPU time of these processes and their threads (from /proc/PID/stat)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def start_icap_dlp(workers: int, policy: str | None = None, extra: list[str] | None = None,
                   log_path: Path | None = None, checkout: str | None = None) -> tuple[subprocess.Popen[bytes], int]:
    """Start ``icap-dlp serve`` on a free loopback port; return (process, port) once every worker
    listens. (Waiting for the port alone is not enough: with SO_REUSEPORT, connections opened
    while the other workers still start all land on the first one.) ``checkout``: run the
    package from that source tree instead (e.g. a git worktree of main, for same-run ratios)."""
    import tempfile

    port = _free_port()
    cmd = [sys.executable, "-m", "icap_dlp", "serve", "--port", str(port), "--workers", str(workers),
           "--log-level", "info", *(extra or [])]
    if policy:
        cmd += ["--policy", str(Path(policy).resolve())]
    env = {**os.environ,
           "ICAP_DLP_HMAC_KEY": os.environ.get("ICAP_DLP_HMAC_KEY", "bench-only-key-0123456789abcdef")}
    cwd = None
    if checkout is not None:
        env["PYTHONPATH"] = str(Path(checkout).resolve())
        cwd = tempfile.gettempdir()  # "python -m" would import the package from a checkout in cwd first
    # The log lives as long as the server it logs: no context manager.
    log = open(log_path, "w+b") if log_path is not None else tempfile.TemporaryFile()  # noqa: SIM115
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log, cwd=cwd)
    deadline = time.time() + 180
    while time.time() < deadline:
        if server.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"icap-dlp exited with {server.returncode}: {log.read()[-2000:]!r}")
        log.seek(0)
        if b'"msg": "listening"' in log.read():  # the master logs it once every worker is ready
            break
        time.sleep(0.1)
    wait_for_port(port, server)
    return server, port


def wait_for_port(port: int, proc: subprocess.Popen[bytes] | None = None, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            time.sleep(0.5)  # let every worker start accepting
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def measure(port: int, scenario: str, *, connections: int = 8, seconds: float = 10, preview: int | None = None,
            allow_204: bool = True, service: str | None = None, server_pid: int | None = None,
            raw: bool = False, depth: int = 1, tls_ca: str | None = None) -> dict[str, object]:
    """Closed loop: ``connections`` client processes, each one keep-alive connection; ``raw``: one
    asyncio process for all connections, sending pre-built bytes (no preview). ``tls_ca``: the port
    is ICAPS, verified against this CA (not with ``raw``)."""
    if raw and tls_ca:
        raise ValueError("--raw does not speak TLS")
    q: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    tree = _tree(server_pid) if server_pid else []
    cpu0 = _cpu_seconds(tree)
    if raw:
        procs = [mp.Process(target=_raw_loop,
                            args=(port, scenario, seconds, connections, service, allow_204, depth, q))]
    else:
        procs = [mp.Process(target=_loop, args=(port, scenario, seconds, preview, allow_204, q, service, tls_ca))
                 for _ in range(connections)]
    for p in procs:
        p.start()
    results = [q.get() for _ in procs]
    server_cpu = _cpu_seconds(tree) - cpu0
    for p in procs:
        p.join()
    lat = sorted(x for r in results for x in r[0])
    errors = sum(r[1] for r in results)
    statuses: dict[int, int] = {}
    for r in results:
        for k, v in r[2].items():
            statuses[k] = statuses.get(k, 0) + v
    n = len(lat)
    body = SCENARIOS[scenario][3]
    q_ = statistics.quantiles(lat, n=100) if n > 1 else [0.0] * 99
    res: dict[str, object] = {
        "scenario": scenario, "connections": connections, "seconds": seconds,
        "requests": n, "errors": errors, "statuses": statuses, "req_s": round(n / seconds, 1),
        "mb_s": round(n * len(body) / seconds / 1e6, 2),
        "p50_ms": round(q_[49] * 1000, 2), "p95_ms": round(q_[94] * 1000, 2), "p99_ms": round(q_[98] * 1000, 2),
        "machine": machine(),
    }
    if tree and n:
        # Server CPU per request, and the rate one fully busy core would sustain at that cost:
        # a capacity figure the load generator (sharing these cores) does not distort.
        res["server_cpu_ms_per_req"] = round(server_cpu / n * 1000, 4)
        res["req_s_per_server_core"] = round(n / server_cpu, 1) if server_cpu else None
    return res


def machine() -> str:
    model = ""
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{platform.machine()} {os.cpu_count()} cores {model}, Python {platform.python_version()}".strip()


def worker_rss_mb(server_pid: int) -> list[float]:
    return [round(_status_kb(c) / 1024, 1) for c in _children(server_pid)]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=1344)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--scenario", default="respmod-4k-clean", choices=sorted(SCENARIOS))
    ap.add_argument("--preview", type=int, default=-1, help="preview size (-1: no preview)")
    ap.add_argument("--no204", action="store_true", help="do not offer Allow: 204")
    ap.add_argument("--start", action="store_true", help="start icap-dlp on a free port first")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--policy", default=None)
    ap.add_argument("--checkout", default=None, help="--start: run the server from this source tree "
                    "(the client stays this tree's)")
    ap.add_argument("--service", default=None, help="ICAP service name (default: respmod / reqmod)")
    ap.add_argument("--server-pid", type=int, default=None,
                    help="also report the server's CPU per request: this PID and its descendants "
                         "(set automatically with --start; for c-icap: the pid in its pid file)")
    ap.add_argument("--raw", action="store_true",
                    help="one asyncio client process sending pre-built requests (a lighter load generator)")
    ap.add_argument("--depth", type=int, default=1, help="--raw: requests pipelined per connection")
    ap.add_argument("--tls-ca", default=None, help="--port is ICAPS: verify the server with this CA file")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    server = None
    port = args.port
    if args.start:
        server, port = start_icap_dlp(args.workers, args.policy, checkout=args.checkout)
    try:
        res = measure(port, args.scenario, connections=args.connections, seconds=args.seconds,
                      preview=None if args.preview < 0 else args.preview, allow_204=not args.no204,
                      service=args.service, server_pid=server.pid if server is not None else args.server_pid,
                      raw=args.raw, depth=args.depth, tls_ca=args.tls_ca)
        if server is not None:
            res["worker_rss_mb"] = worker_rss_mb(server.pid)
        print(json.dumps(res) if args.json else "\n".join(f"{k:>14}: {v}" for k, v in res.items()))
        return 1 if res["errors"] else 0
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)


if __name__ == "__main__":
    sys.exit(main())
