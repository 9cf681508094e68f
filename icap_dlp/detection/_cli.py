"""``icap-dlp scan``, ``icap-dlp detectors list`` and ``icap-dlp detectors test``."""

from __future__ import annotations

import argparse
import bisect
import json
import re
import sys
from pathlib import Path
from typing import Any

from icap_dlp.detection._engine import Engine, load_library
from icap_dlp.errors import ConfigError
from icap_dlp.redaction import masked_preview as masked


def add_commands(sub: Any) -> None:
    scan = sub.add_parser("scan", help="scan a file (or stdin) and print the findings")
    scan.add_argument("file", nargs="?", default="-")
    scan.add_argument("--json", action="store_true", help="findings as JSON lines")
    scan.add_argument("--redact", action="store_true", help="print the text with findings masked")
    scan.add_argument("--detectors", help="extra detector file or folder")
    scan.add_argument("--ner", action="store_true", help="also run the NER detectors")
    scan.set_defaults(func=_scan)
    det = sub.add_parser("detectors", help="list or test detector rules")
    dsub = det.add_subparsers(dest="detectors_command", metavar="ACTION", required=True)
    ls = dsub.add_parser("list", help="list the detectors")
    ls.add_argument("--detectors", help="extra detector file or folder")
    ls.set_defaults(func=_list)
    test = dsub.add_parser("test", help="run every detector's examples")
    test.add_argument("path", nargs="?", help="detector file or folder (default: the built-in library)")
    test.add_argument("--ner", action="store_true", help="include NER detectors (needs the spaCy model)")
    test.set_defaults(func=_test)


def _library(extra: str | None) -> Any:
    return load_library(extra_paths=[extra] if extra else ())


def _scan(args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8", errors="replace")
    lib = _library(args.detectors)
    ids = [d.id for d in lib.detectors if args.ner or d.kind == "regex"]
    findings = Engine(lib, ids, lazy=True).scan(text)
    if args.redact:
        out, last = [], 0
        for f in findings:
            out.append(text[last:f.start])
            out.append(f"[{f.entity_type}]")
            last = f.end
        out.append(text[last:])
        sys.stdout.write("".join(out))
        return 0
    starts = line_starts(text)
    for f in findings:
        line = bisect.bisect_right(starts, f.start)  # 1-based: starts[line - 1] <= f.start
        col = f.start - starts[line - 1] + 1
        row = {"detector": f.detector_id, "entity": f.entity_type, "location": f"{line}:{col}",
               "masked": masked(text[f.start:f.end]), "score": f.score, "why": f.explanation}
        if args.json:
            print(json.dumps(row, ensure_ascii=False))
        else:
            print(f"{row['detector']:<30} {row['entity']:<24} {row['location']:<10} {row['masked']:<28} "
                  f"{row['score']:<5} {row['why']}")
    return 0


def line_starts(text: str) -> list[int]:
    """Offsets where each line of ``text`` starts (the first is 0), for bisecting a finding's line."""
    return [0, *(m.end() for m in _NEWLINE.finditer(text))]


_NEWLINE = re.compile("\n")


def _list(args: argparse.Namespace) -> int:
    lib = _library(args.detectors)
    for d in lib.detectors:
        print(f"{d.id:<32} {d.entity_type:<26} {d.category:<15} {d.severity:<8} {d.kind:<5} {d.description}")
    print(f"{len(lib.detectors)} detectors")
    return 0


def _test(args: argparse.Namespace) -> int:
    try:
        lib = load_library([args.path] if args.path else None)
    except ConfigError as exc:
        print(exc.render(), file=sys.stderr)
        return 1
    ids = [d.id for d in lib.detectors if args.ner or d.kind == "regex"]
    problems = lib.run_examples(ids)
    if args.ner:
        problems += _ner_problems(lib)
    for p in problems:
        print(p)
    print(f"{len(ids)} detectors, {len(problems)} failed examples")
    return 1 if problems else 0


def _ner_problems(lib: Any) -> list[str]:
    from icap_dlp.model import Segment

    out = []
    ner = [d for d in lib.detectors if d.kind == "ner"]
    engine = Engine(lib, [d.id for d in ner])
    for d in ner:
        for text, want in [(t, True) for t in d.examples.match] + [(t, False) for t in d.examples.no_match]:
            got = any(f.detector_id == d.id for f in engine.scan_segments([Segment(text, "t")])[0])
            if got != want:
                out.append(f"{d.id}: {'- expected a match' if want else '+ unexpected match'} in {text!r}")
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m icap_dlp.detection._cli scan|detectors ...`` (the same commands as ``icap-dlp``)."""
    parser = argparse.ArgumentParser(prog="python -m icap_dlp.detection._cli")
    add_commands(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(exc.render(), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
