"""``icap-dlp policy lint [PATH]`` and ``icap-dlp policy test [PATH]``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from icap_dlp.config import default_policy_path, load_settings
from icap_dlp.errors import ConfigError


def add_commands(sub: Any) -> None:
    pol = sub.add_parser("policy", help="check and test policy files")
    psub = pol.add_subparsers(dest="policy_command", metavar="ACTION", required=True)
    lint = psub.add_parser("lint", help="schema, references, regex safety and detector examples")
    lint.add_argument("path", nargs="?", help="policy file or folder (default: the embedded policy)")
    lint.add_argument("--detectors", help="extra detector file or folder")
    lint.set_defaults(func=_lint)
    test = psub.add_parser("test", help="run the test cases the policy files carry")
    test.add_argument("path", nargs="?", help="policy file or folder (default: the embedded policy)")
    test.add_argument("--detectors", help="extra detector file or folder")
    test.add_argument("-v", "--verbose", action="store_true")
    test.set_defaults(func=_test)


def _bundle(args: argparse.Namespace) -> Any:
    """The compiled policy, or None after printing its errors (file:line: field: message)."""
    from icap_dlp.inspection import load_bundle

    try:
        settings = load_settings({"policy": args.path, "detectors": args.detectors}, env={})
        return load_bundle(settings, args.path or default_policy_path())
    except ConfigError as exc:
        print(exc.render(), file=sys.stderr)
        return None


def _lint(args: argparse.Namespace) -> int:
    bundle = _bundle(args)
    if bundle is None:
        return 1
    problems = []
    runner = getattr(bundle.library, "run_examples", None)
    if runner is not None:
        problems = list(runner(sorted(bundle.policy.detector_ids)))
    for p in problems:
        print(p, file=sys.stderr)
    pol = bundle.policy
    print(f"{', '.join(pol.files)}: {len(pol.rules)} rules, {len(pol.detector_ids)} detectors, "
          f"{len(pol.tests)} tests, version {pol.version}: {'FAIL' if problems else 'ok'}")
    return 1 if problems else 0


def _test(args: argparse.Namespace) -> int:
    from icap_dlp.inspection import inspect_message
    from icap_dlp.model import Direction, RequestContext

    bundle = _bundle(args)
    if bundle is None:
        return 1
    failures = 0
    for lt in bundle.policy.tests:
        t = lt.test
        inp = t.input
        body = (inp.body if isinstance(inp.body, str)
                else json.dumps(inp.body, ensure_ascii=False, separators=(",", ":")))
        from urllib.parse import urlsplit

        ctx = RequestContext(
            direction=Direction(inp.direction), service=inp.direction, client_ip=inp.client_ip,
            user=inp.user, groups=tuple(inp.groups), http_method=inp.http_method, url=inp.url,
            host=urlsplit(inp.url).hostname, content_type=inp.content_type, tool=inp.tool,
            authenticated=inp.user is not None if inp.authenticated is None else inp.authenticated,
        )
        res = inspect_message(bundle, ctx, body.encode(), content_type=inp.content_type)
        out = (res.body if res.body is not None else body.encode()).decode("utf-8", "replace")
        errs = []
        exp = t.expect
        if res.decision.action.value != exp.decision:
            errs.append(f"decision: expected {exp.decision}, got {res.decision.action.value}")
        if exp.rules is not None and sorted(exp.rules) != sorted(res.decision.rules):
            errs.append(f"rules: expected {sorted(exp.rules)}, got {sorted(res.decision.rules)}")
        if exp.output is not None:
            want = exp.output if isinstance(exp.output, str) else None
            if want is None:
                try:
                    got_obj = json.loads(out)
                except ValueError:
                    got_obj = None
                if got_obj != exp.output:
                    errs.append(f"output:\n  - expected {json.dumps(exp.output)}\n  + got      {out}")
            elif out != want:
                errs.append(f"output:\n  - expected {want}\n  + got      {out}")
        for s in exp.output_contains:
            if s not in out:
                errs.append(f"output does not contain {s!r}\n  + got {out}")
        for s in exp.output_not_contains:
            if s in out:
                errs.append(f"output still contains {s!r}")
        where = f"{Path(lt.file).name}:{lt.line}"
        if errs:
            failures += 1
            print(f"FAIL {where} {t.name}")
            for e in errs:
                print(f"     {e}")
        elif args.verbose:
            print(f"ok   {where} {t.name}")
    total = len(bundle.policy.tests)
    print(f"{total - failures} passed, {failures} failed")
    return 1 if failures else 0
