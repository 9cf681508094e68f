"""Side-by-side benchmark: icap-dlp against c-icap's srv_content_filtering, same run, same client.

    python loadtests/compare.py [--seconds 8] [--connections 8] [--out results.md]

Starts, on free loopback ports: c-icap (Debian's ``c-icap`` package, 4 processes x 16 threads,
``srv_content_filtering`` with 3 PCRE rules: AWS key, card, email, replacing every match), then
icap-dlp with 2 workers and with 1 worker (default policy, full built-in library). Runs the same
scenarios (``payloads.py``) through the same closed-loop client (``bench_icap.measure``) and
prints a Markdown table: req/s, p50/p95/p99, errors, and the server's CPU per request (from
/proc, so a load generator sharing the machine's cores does not distort it). Stops everything it
started, by PID. Without c-icap installed, only icap-dlp is measured.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_icap import _free_port, machine, measure, start_icap_dlp, wait_for_port, worker_rss_mb

BASELINE = "icap-dlp baseline"
SCENARIOS = ("respmod-4k-clean", "respmod-4k-secrets", "respmod-64k", "respmod-4k-typical", "respmod-64k-typical")

CICAP_CONF = """\
PidFile {dir}/c-icap.pid
CommandsSocket {dir}/c-icap.ctl
Port 127.0.0.1:{port}
{user}Timeout 300
MaxKeepAliveRequests -1
KeepAliveTimeout 600
StartServers 4
MaxServers 4
MinSpareThreads 4
MaxSpareThreads 64
ThreadsPerChild 16
MaxRequestsPerChild 0
TmpDir {dir}
MaxMemObject 1048576
DebugLevel 0
Pipelining on
ModulesDir {lib}
ServicesDir {lib}
TemplateDir /usr/share/c_icap/templates/
TemplateDefaultLanguage en
LoadMagicFile /etc/c-icap/c-icap.magic
ServerLog {dir}/server.log
Service echo srv_echo.so
Service srv_cfg_filter srv_content_filtering.so
srv_content_filtering.MaxBodyData 4M
srv_content_filtering.RequireContentLength off
srv_content_filtering.Match AwsKey body /AKIA[0-9A-Z]{{16}}/g score=10 info{{MASK}}=[REDACTED-AWS-KEY]
srv_content_filtering.Match CreditCard body /\\b(?:\\d[-\\x20]?){{12,15}}\\d\\b/g score=5 info{{MASK}}=[REDACTED-CC]
srv_content_filtering.Match Email body /[A-Za-z0-9._%+-]{{1,64}}@[A-Za-z0-9.-]{{1,253}}\\.[A-Za-z]{{2,24}}/g \
score=1 info{{MASK}}=[REDACTED-EMAIL]
acl ALL src 0.0.0.0/0.0.0.0
srv_content_filtering.Profile dlp_replace replace score{{AwsKey>0}} replaceInfo=MASK
srv_content_filtering.Profile dlp_replace replace score{{CreditCard>0}} replaceInfo=MASK
srv_content_filtering.Profile dlp_replace replace score{{Email>0}} replaceInfo=MASK
srv_content_filtering.ProfileOption dlp_replace AnyContentType
srv_content_filtering.ProfileAccess dlp_replace ALL
"""


def _cicap_libdir() -> Path | None:
    for d in (Path("/usr/lib/x86_64-linux-gnu/c_icap"), Path("/usr/lib/aarch64-linux-gnu/c_icap"),
              Path("/usr/lib/c_icap")):
        if (d / "srv_content_filtering.so").exists():
            return d
    return None


def start_cicap(rundir: Path) -> tuple[subprocess.Popen[bytes], int] | None:
    lib = _cicap_libdir()
    if shutil.which("c-icap") is None or lib is None:
        return None
    port = _free_port()
    # c-icap drops to User before writing its pid file: as root, run as nobody in a world-writable dir.
    user = "User nobody\n" if os.geteuid() == 0 else ""
    rundir.chmod(0o1777)
    conf = rundir / "c-icap.conf"
    conf.write_text(CICAP_CONF.format(dir=rundir, port=port, user=user, lib=lib))
    proc = subprocess.Popen(["c-icap", "-N", "-f", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc, timeout=30)
    except RuntimeError as exc:
        stop(proc)
        log = rundir / "server.log"
        raise RuntimeError(f"c-icap did not start ({exc}); {log}: "
                           f"{log.read_text(errors='replace')[-1500:] if log.exists() else 'no log'}"
                           " (as root it runs as nobody: the directory must be reachable)") from None
    return proc, port


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--scenario", action="append", default=None,
                    help="repeatable (default: 4 KB clean, with secrets, typical tool output; 64 KB clean, typical)")
    ap.add_argument("--raw", action="store_true",
                    help="one asyncio client process with pre-built requests (lighter than a process per connection)")
    ap.add_argument("--depth", type=int, default=1, help="--raw: requests pipelined per connection")
    ap.add_argument("--out", default=None, help="also write the table to this file")
    ap.add_argument("--workers", default="2,1", help="icap-dlp worker counts to run (default: 2,1)")
    ap.add_argument("--baseline", default=None,
                    help="also run icap-dlp from this checkout (e.g. a git worktree of main) with the same "
                         "worker counts, and report this tree's ratios against it")
    ap.add_argument("--policy", default=None, help="icap-dlp policy file (default: the embedded default)")
    ap.add_argument("--baseline-policy", default=None,
                    help="the baseline's policy file when its schema differs (e.g. its own copy of the example)")
    ap.add_argument("--no-cicap", action="store_true", help="icap-dlp only")
    args = ap.parse_args()
    scenarios = args.scenario or list(SCENARIOS)
    rows: list[tuple[str, str, dict[str, object]]] = []
    rss: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="icap-compare-") as tmp:
        servers: list[tuple[str, subprocess.Popen[bytes], int, str | None]] = []
        try:
            cicap = None if args.no_cicap else start_cicap(Path(tmp))
            if cicap is not None:
                servers.append(("c-icap srv_content_filtering", cicap[0], cicap[1], "srv_cfg_filter"))
            for workers in (int(w) for w in args.workers.split(",")):
                label = f"{workers} worker{'s' if workers > 1 else ''}"
                proc, port = start_icap_dlp(workers, args.policy)
                servers.append((f"icap-dlp, {label}", proc, port, None))
                if args.baseline:
                    proc, port = start_icap_dlp(workers, args.baseline_policy or args.policy, checkout=args.baseline)
                    servers.append((f"{BASELINE}, {label}", proc, port, None))
            for scenario in scenarios:  # interleaved: every server sees the same machine state
                for name, proc, port, service in servers:
                    res = measure(port, scenario, connections=args.connections, seconds=args.seconds,
                                  service=service, server_pid=proc.pid, raw=args.raw, depth=args.depth)
                    rows.append((scenario, name, res))
                    print(f"{scenario:20} {name:32} {res['req_s']:>9} req/s  errors {res['errors']}",
                          file=sys.stderr)
            for name, proc, _, service in servers:
                if service is None:
                    rss[name] = worker_rss_mb(proc.pid)
        finally:  # also when a server fails to start: stop the ones that did
            for _, proc, _, _ in servers:
                stop(proc)
    table = render(rows, rss, args)
    print(table)
    if args.out:
        Path(args.out).write_text(table)
    return 1 if any(r[2]["errors"] for r in rows) else 0


def render(rows: list[tuple[str, str, dict[str, object]]], rss: dict[str, list[float]],
           args: argparse.Namespace) -> str:
    out = [f"Machine: {machine()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
           f"{args.connections} keep-alive connections, {args.seconds:g} s per cell, Allow: 204, no preview, "
           + (f"one asyncio client process, {args.depth} pipelined per connection." if args.raw
              else "one client process per connection (icap_dlp.client)."), "",
           "| scenario | server | req/s | p50 ms | p95 ms | p99 ms | errors | server CPU ms/req "
           "| req/s per server core | ratio req/s | ratio per core |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    base: dict[str, dict[str, object]] = {s: r for s, n, r in rows if n.startswith("c-icap")}
    for scenario, name, r in rows:
        b = base.get(scenario)
        ratio = ratio_core = ""
        if b is not None and not name.startswith("c-icap"):
            ratio = f"{float(r['req_s']) / float(b['req_s']):.2f}x"  # type: ignore[arg-type]
            if r.get("req_s_per_server_core") and b.get("req_s_per_server_core"):
                per_core = float(r["req_s_per_server_core"]) / float(b["req_s_per_server_core"])  # type: ignore[arg-type]
                ratio_core = f"{per_core:.2f}x"
        out.append(f"| {scenario} | {name} | {r['req_s']} | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | "
                   f"{r['errors']} | {r.get('server_cpu_ms_per_req', '')} | {r.get('req_s_per_server_core', '')} | "
                   f"{ratio} | {ratio_core} |")
    old = {(s, n.removeprefix(BASELINE + ", ")): r for s, n, r in rows if n.startswith(BASELINE)}
    if old:
        out += ["", "This tree against the baseline checkout, same run:", "",
                "| scenario | workers | req/s ratio | server CPU per request ratio |", "|---|---|---|---|"]
        for scenario, name, r in rows:
            b = old.get((scenario, name.removeprefix("icap-dlp, ")))
            if b is None or not name.startswith("icap-dlp, "):
                continue
            cpu = ""
            if r.get("server_cpu_ms_per_req") and b.get("server_cpu_ms_per_req"):
                cpu = f"{float(r['server_cpu_ms_per_req']) / float(b['server_cpu_ms_per_req']):.2f}x"  # type: ignore[arg-type]
            req = f"{float(r['req_s']) / float(b['req_s']):.2f}x"  # type: ignore[arg-type]
            out.append(f"| {scenario} | {name.removeprefix('icap-dlp, ')} | {req} | {cpu} |")
    for name, values in rss.items():
        out.append("")
        out.append(f"RSS of {name} (master, workers): {values} MB")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
