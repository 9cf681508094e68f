"""Detection engine benchmark (no server): MB/s regex-only, docs/s with NER vs presidio.

    python loadtests/bench_detection.py            # regex-only MB/s over 1 MB of mixed tool output
    python loadtests/bench_detection.py --ner      # also 4 KB docs/s with NER, and presidio's AnalyzerEngine
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from payloads import _prose  # noqa: E402

from icap_dlp.detection import Engine, load_library  # noqa: E402
from icap_dlp.model import Segment  # noqa: E402

SECRETS = ["AKIAIOSFODNN7EXAMPLE", "4111 1111 1111 1111", "alice@example.com", "10.20.30.40",
           "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", "DE89 3704 0044 0532 0130 00", "+44 20 7946 0958",
           "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"]
CODE = 'def handler(event, ctx):\n    rows = db.query("select id, name from users where id = %s", event["id"])\n'
LOG = "2026-11-24T10:11:12.345Z INFO request_id=8f3a2c path=/api/v2/items status=200 latency_ms=12\n"
NAMES = ["Alice Johnson", "Bob Smith", "Carol Diaz", "Dmitri Ivanov", "Emma Brown", "Farid Khan"]


def mixed(size: int, seed: int = 7, density: float = 0.01) -> str:
    """Prose, code, logs and JSON string values, with ~``density`` of the tokens sensitive."""
    rng = random.Random(seed)
    parts: list[str] = []
    total = 0
    while total < size:
        kind = rng.random()
        if kind < 0.4:
            chunk = _prose(400, rng)
        elif kind < 0.6:
            chunk = CODE
        elif kind < 0.85:
            chunk = LOG
        else:
            chunk = json.dumps({"id": rng.randint(1, 10**6), "note": _prose(120, rng)})
        words = chunk.split(" ")
        for i in range(len(words)):
            if rng.random() < density:
                words[i] = rng.choice(SECRETS)
        chunk = " ".join(words) + "\n"
        parts.append(chunk)
        total += len(chunk)
    return "".join(parts)[:size]


def bench_regex(size: int) -> dict[str, object]:
    lib = load_library()
    engine = Engine(lib, [d.id for d in lib.detectors if d.kind == "regex"])
    text = mixed(size)
    engine.scan(text)  # warm up
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        found = engine.scan(text)
        runs.append(time.perf_counter() - t)
    best = min(runs)
    return {"bytes": len(text.encode()), "detectors": len(engine.regex_detectors), "findings": len(found),
            "prefilter": engine.prefilter.engine, "mb_s": round(len(text.encode()) / best / 1e6, 1),
            "ms": round(best * 1000, 1)}


def bench_ner(n_docs: int) -> dict[str, object]:
    rng = random.Random(3)
    docs, truth = [], []
    for _ in range(n_docs):
        names = rng.sample(NAMES, 2)
        text = mixed(4000, seed=rng.randint(0, 10**6), density=0.0)
        cut = len(text) // 2
        doc = f"Ticket opened by {names[0]}. " + text[:cut] + f" Escalated to {names[1]} today. " + text[cut:]
        docs.append(doc[:4096])
        truth.append(names)
    lib = load_library()
    engine = Engine(lib, ["ner-person"])
    engine.scan_segments([Segment(docs[0], "d")])
    t = time.perf_counter()
    results = engine.scan_segments([Segment(d, "d") for d in docs])
    ours = n_docs / (time.perf_counter() - t)
    hit = sum(any(name in d[f.start:f.end] or d[f.start:f.end] in name for f in fs) for d, fs, names in
              zip(docs, results, truth, strict=True) for name in names)
    out: dict[str, object] = {"docs": n_docs, "ours_docs_s": round(ours, 1),
                              "ours_person_recall": round(hit / (2 * n_docs), 3)}
    try:
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import NlpEngineProvider

        from icap_dlp.detection._ner import find_model

        conf = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": find_model(None)}]}
        analyzer = AnalyzerEngine(nlp_engine=NlpEngineProvider(nlp_configuration=conf).create_engine())
        k = max(3, n_docs // 10)
        t = time.perf_counter()
        pres = [analyzer.analyze(d, language="en", entities=["PERSON"]) for d in docs[:k]]
        out["presidio_docs_s"] = round(k / (time.perf_counter() - t), 1)
        phit = sum(any(name in d[r.start:r.end] or d[r.start:r.end] in name for r in rs) for d, rs, names in
                   zip(docs[:k], pres, truth[:k], strict=True) for name in names)
        out["presidio_person_recall"] = round(phit / (2 * k), 3)
        out["speedup"] = round(ours / float(out["presidio_docs_s"]), 1)  # type: ignore[arg-type]
    except Exception as exc:  # presidio is optional here
        out["presidio"] = f"not run: {exc}"
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=1 << 20)
    ap.add_argument("--ner", action="store_true")
    ap.add_argument("--docs", type=int, default=100)
    args = ap.parse_args()
    print(json.dumps({"regex_only": bench_regex(args.size)}))
    if args.ner:
        print(json.dumps({"ner_4k": bench_ner(args.docs)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
