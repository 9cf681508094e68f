"""``icap-dlp scan`` end to end: start-up and 1 MB of typical tool output, against another checkout.

    python loadtests/bench_scan.py [--baseline /path/to/old/checkout] [--runs 5]

Runs ``python -m icap_dlp scan`` in fresh processes (so imports, YAML, the Hyperscan compile or its
cache, the scan and printing all count) on a 5-byte file (start-up) and on 1 MB of
``payloads.typical_text``; reports the best wall time and the process's CPU time of ``--runs``,
cold (an empty compiled-database cache) and warm, and the ratios against the baseline checkout
(put first on PYTHONPATH) measured in the same run, interleaved: start-up, the scan after it, and
both together (``total_cpu_ratio``: what one ``icap-dlp scan`` of the big file costs).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from payloads import typical_text

REPO = Path(__file__).resolve().parent.parent


_PROBE = """
import contextlib, io, json, resource, sys, time
from icap_dlp.cli import main
import icap_dlp.detection._cli as C
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
def scan(f):
    out = io.StringIO()
    c, t = cpu(), time.perf_counter()
    with contextlib.redirect_stdout(out):
        main(["scan", f])
    return cpu() - c, time.perf_counter() - t, out.getvalue().count("\\n")
tiny, big = sys.argv[1:3]
scan(tiny)
startup = cpu()
# After start-up: the library and the engine the first call built are reused, so what is left is
# the scan itself (engine, line numbers, formatting) in both trees.
libs, engines, Engine, library = {}, {}, C.Engine, C._library
C._library = lambda extra: libs[extra] if extra in libs else libs.setdefault(extra, library(extra))
def engine(lib, ids, **kw):
    key = (id(lib), tuple(ids))
    if key not in engines:
        engines[key] = Engine(lib, ids, **kw)
    return engines[key]
C.Engine = engine
scan(tiny)
again = scan(tiny)
full = scan(big)
print(json.dumps({"startup_cpu_s": startup, "scan_cpu_s": full[0] - again[0], "scan_wall_s": full[1] - again[1],
                  "findings": full[2]}))
"""


def run_scan(pythonpath: str, tiny: Path, big: Path, cache: str, pycache: str) -> dict[str, float]:
    """One fresh interpreter: the CPU time until ``scan`` of a 5-byte file has printed (start-up:
    imports, YAML, compiled databases), then, with the loaded library and engine reused, ``scan``
    of the big file less ``scan`` of the small one (the scan after start-up: engine, line numbers,
    formatting). Byte code is cached under
    ``pycache`` (as an installed package's would be), even where PYTHONDONTWRITEBYTECODE is set."""
    env = {**os.environ, "PYTHONPATH": pythonpath, "ICAP_DLP_CACHE_DIR": cache, "PYTHONPYCACHEPREFIX": pycache}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # cwd: not a checkout, or the package would be imported from there instead of PYTHONPATH
    out = subprocess.run([sys.executable, "-c", _PROBE, str(tiny), str(big)], env=env, capture_output=True,
                         check=True, cwd=tiny.parent, text=True).stdout
    res: dict[str, float] = json.loads(out)
    return res


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", help="another checkout of icap-dlp (e.g. a git worktree of main)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--size", type=int, default=1 << 20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-scan-") as d:
        tiny, big = Path(d) / "tiny.txt", Path(d) / "typical.txt"
        tiny.write_text("hello")
        big.write_text(typical_text(args.size))
        cache = str(Path(d) / "cache")
        trees = {"this": str(REPO)}
        if args.baseline:
            trees["baseline"] = str(Path(args.baseline).resolve())
        pycache = str(Path(d) / "pycache")
        for tree in trees.values():  # byte code compiled once, as after an install
            run_scan(tree, tiny, tiny, str(Path(d) / "warm-up"), pycache)
        rows: dict[str, list[dict[str, float]]] = {}
        for i in range(args.runs):  # interleaved: every tree sees the same machine state
            for name, tree in trees.items():
                if i == 0 and name == "this":  # an empty cache: what the first run on a machine pays
                    rows["this.cold"] = [run_scan(tree, tiny, big, str(Path(d) / "cold"), pycache)]
                rows.setdefault(name, []).append(run_scan(tree, tiny, big, cache, pycache))
        size = big.stat().st_size
        out: dict[str, object] = {"bytes": size, "runs": args.runs}
        best: dict[str, dict[str, float]] = {}
        for name, rs in rows.items():
            b = {k: min(r[k] for r in rs) for k in ("startup_cpu_s", "scan_cpu_s", "scan_wall_s")}
            b["scan_mb_s"] = size / max(b["scan_cpu_s"], 1e-6) / 1e6
            best[name] = b
            out[name] = {**{k: round(v, 3) for k, v in b.items()}, "findings": rs[0]["findings"]}
        if args.baseline:
            out["startup_ratio"] = round(best["this"]["startup_cpu_s"] / best["baseline"]["startup_cpu_s"], 3)
            out["scan_speedup"] = round(best["baseline"]["scan_cpu_s"] / max(best["this"]["scan_cpu_s"], 1e-6), 2)
            # What one ``icap-dlp scan`` of the big file costs (a one-shot scan compiles patterns and
            # loads libphonenumber when the text first needs them: start-up cost moved into the scan).
            total = {k: best[k]["startup_cpu_s"] + best[k]["scan_cpu_s"] for k in ("this", "baseline")}
            out["total_cpu_ratio"] = round(total["this"] / total["baseline"], 3)
        print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
