"""Inspection cost against a baseline tree, measured in the same run, and the normalization cost.

``--baseline DIR`` is another checkout of icap-dlp (for example the commit before a change:
``git archive e0d0a5d | tar -x -C /tmp/base``). Rounds alternate baseline and this tree, each a
fresh server (``bench_icap.py --start``) whose CPU per request is read from /proc; the medians
and their ratio are printed. ``--normalization`` times the detection of a 4 KB ASCII text by the
engine alone and through the pipeline's normalizing scan (equal: ASCII takes no copy and no
map), and the normalization of non-ASCII text per MB.

    python loadtests/bench_inspection.py --baseline /tmp/base --rounds 5 --seconds 6
    python loadtests/bench_inspection.py --normalization
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def server_cpu(tree: Path, scenario: str, seconds: float, connections: int) -> float:
    """Server CPU ms per request of one run of bench_icap.py against a server started from ``tree``."""
    # the server runs from ``tree``; the load generator is always this tree's (an older client may
    # lack options the current bench_icap.py passes)
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    out = subprocess.run([sys.executable, str(HERE / "bench_icap.py"), "--start", "--workers", "1", "--json",
                          "--connections", str(connections), "--seconds", str(seconds), "--scenario", scenario,
                          "--checkout", str(tree)],
                         capture_output=True, text=True, env=env, cwd=tree, timeout=seconds + 120, check=True)
    return float(json.loads(out.stdout.strip().splitlines()[-1])["server_cpu_ms_per_req"])


def compare_trees(baseline: Path, rounds: int, seconds: float, connections: int, scenario: str) -> dict[str, float]:
    this = HERE.parent
    base: list[float] = []
    new: list[float] = []
    for _ in range(rounds):
        base.append(server_cpu(baseline, scenario, seconds, connections))
        new.append(server_cpu(this, scenario, seconds, connections))
    b, n = statistics.median(base), statistics.median(new)
    return {"baseline_ms": round(b, 4), "this_ms": round(n, 4), "ratio": round(n / b, 3),
            "baseline_runs": base, "this_runs": new}  # type: ignore[dict-item]


def normalization() -> dict[str, float]:
    sys.path.insert(0, str(HERE.parent))
    sys.path.insert(0, str(HERE))
    import random

    from payloads import _prose  # type: ignore[import-not-found]

    from icap_dlp.config import load_settings
    from icap_dlp.content import normalize
    from icap_dlp.inspection import load_bundle, scan_segments
    from icap_dlp.model import Segment

    engine = load_bundle(load_settings({}, env={})).engine
    text = _prose(4096, random.Random(1))
    segs = [Segment(text, "$.result.content[0].text", "content text")]

    def best(f: object, n: int = 2000) -> float:
        for _ in range(200):
            f()  # type: ignore[operator]
        runs = []
        for _ in range(5):
            t = time.process_time()
            for _ in range(n):
                f()  # type: ignore[operator]
            runs.append((time.process_time() - t) / n * 1e6)
        return min(runs)

    engine_us = best(lambda: engine.scan_segments(segs))
    pipeline_us = best(lambda: scan_segments(engine, segs))
    from icap_dlp.content import encoded_tokens

    # what looking for encoded tokens costs on text without candidates, and on typical tool
    # output with hex ids and a base64 image (candidates that decode to binary)
    typical = text[:2048] + " id 9f86d081884c7d659a2feaa0c55ad015 " + "iVBORw0KGgo" + "A" * 2000
    no_candidates_us = best(lambda: encoded_tokens(text))
    typical_us = best(lambda: encoded_tokens(typical), 500)
    mixed = ("Pr\u00fcfung \u200bbestanden: caf\u00e9 \uff14\uff11\uff11\uff11 na\u00efve \u00a0 " * 40000)[: 1 << 20]
    t = time.process_time()
    normalize(mixed)
    per_mb = (time.process_time() - t) * 1000
    return {"ascii_4k_engine_us": round(engine_us, 1), "ascii_4k_pipeline_us": round(pipeline_us, 1),
            "decode_4k_no_candidates_us": round(no_candidates_us, 1),
            "decode_4k_ids_and_image_us": round(typical_us, 1),
            "non_ascii_normalize_ms_per_mb": round(per_mb, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", type=Path, help="another icap-dlp tree to compare with")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=6)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--scenario", default="respmod-4k-clean")
    ap.add_argument("--normalization", action="store_true")
    args = ap.parse_args()
    if args.baseline:
        print(json.dumps(compare_trees(args.baseline, args.rounds, args.seconds, args.connections, args.scenario)))
    if args.normalization:
        print(json.dumps(normalization()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
