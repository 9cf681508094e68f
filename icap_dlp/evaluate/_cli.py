"""``icap-dlp eval CORPUS [--policy P] [--json]``: a labelled corpus through the server's inspection."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from icap_dlp.config import default_policy_path, load_settings


def add_commands(sub: Any) -> None:
    ev = sub.add_parser("eval", help="precision / recall of a policy on a labelled corpus (JSON Lines)")
    ev.add_argument("corpus", help="corpus file or folder of *.jsonl (format: icap_dlp/evaluate/_corpus.py)")
    ev.add_argument("--policy", help="policy file or folder (default: the embedded policy)")
    ev.add_argument("--detectors", help="extra detector file or folder")
    ev.add_argument("--split", help="only the cases of this split (tuning, heldout)")
    ev.add_argument("--json", action="store_true", help="the report as JSON")
    ev.add_argument("--icap", metavar="URL", help="inspect through a running server instead "
                    "(icap://127.0.0.1:1344/respmod): recall and survival, no precision")
    ev.add_argument("--show", type=int, default=0, metavar="N",
                    help="list up to N missed values and destroyed look-alikes (masked)")
    ev.set_defaults(func=_eval)


def _eval(args: argparse.Namespace) -> int:
    from icap_dlp.evaluate import evaluate, load_corpus
    from icap_dlp.evaluate._eval import icap_inspector, local_inspector
    from icap_dlp.inspection import load_bundle

    cases = load_corpus(args.corpus)
    if args.split:
        cases = [c for c in cases if c.split == args.split]
    if args.icap:
        try:
            report = evaluate(cases, icap_inspector(args.icap), args.icap)
        except (OSError, RuntimeError) as exc:
            print(f"icap-dlp eval: {args.icap}: {exc}", file=sys.stderr)
            return 1
    else:
        settings = load_settings({"policy": args.policy, "detectors": args.detectors}, env={})
        bundle = load_bundle(settings, args.policy or default_policy_path())
        report = evaluate(cases, local_inspector(bundle), bundle.policy.name)
    if args.json:
        print(json.dumps(report.as_json(), indent=1, ensure_ascii=False))
        return 0
    print(report.render())
    for case_id, kind, value in report.missed[:args.show]:
        print(f"missed    {case_id}: {kind} {value}")
    for case_id, kind, value in report.destroyed[:args.show]:
        print(f"destroyed {case_id}: {kind} {value}")
    return 0
