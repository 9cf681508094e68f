"""The ``icap-dlp`` command: serve | scan | policy lint|test | detectors list|test."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from icap_dlp._version import __version__
from icap_dlp.errors import ConfigError

# Sub-packages that contribute commands through ``add_commands(subparsers)``, and the commands
# each adds: ``icap-dlp scan`` imports only what scanning needs (no server settings, no policy
# engine), the rest of the start-up it would otherwise pay on every call.
_COMMAND_MODULES = {"icap_dlp.detection._cli": ("scan", "detectors"), "icap_dlp.policy._cli": ("policy",),
                    "icap_dlp.evaluate._cli": ("eval",)}


def _serve(args: argparse.Namespace) -> int:
    import logging
    import os
    import secrets
    import shutil
    import tempfile

    from icap_dlp._logging import setup_logging
    from icap_dlp.config import default_policy_path, load_settings

    settings = load_settings(vars(args))
    setup_logging(settings.log_level)
    metrics_dir = None
    if settings.metrics_port is not None:
        # Must be set before prometheus_client is imported anywhere (workers inherit it).
        metrics_dir = tempfile.mkdtemp(prefix="icap-dlp-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir

    from icap_dlp.adapter import build_inspector, policy_snapshot
    from icap_dlp.inspection import HMAC_KEY_ENV, HMAC_KEY_FILE_ENV
    from icap_dlp.server import Master

    if not os.environ.get(HMAC_KEY_ENV) and not os.environ.get(HMAC_KEY_FILE_ENV):
        # One key for every worker of this instance (inherited by the worker processes), so hashed
        # tokens and X-DLP-Context signatures agree across workers. Several instances behind a
        # load balancer need the same configured key.
        os.environ[HMAC_KEY_ENV] = secrets.token_hex(32)
        logging.getLogger("icap_dlp").warning(
            "no HMAC key configured (%s or %s): generated one for this instance; hashed tokens and "
            "X-DLP-Context are not comparable across instances", HMAC_KEY_FILE_ENV, HMAC_KEY_ENV)
    watch = [Path(settings.policy) if settings.policy else default_policy_path()]
    if settings.detectors:
        watch.append(Path(settings.detectors))
    if os.environ.get(HMAC_KEY_FILE_ENV):
        # a rotated key file (a Secret's ..data swap, Vault Agent's rewrite) reloads like SIGHUP
        watch.append(Path(os.environ[HMAC_KEY_FILE_ENV]))
    try:
        return Master(settings, build_inspector, watch=watch, snapshot=policy_snapshot).run()
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole command line, or with ``command`` only the sub-command that will run."""
    parser = argparse.ArgumentParser(prog="icap-dlp", description=__doc__)
    parser.add_argument("--version", action="version", version=f"icap-dlp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    if command in (None, "serve"):
        from icap_dlp.config import add_settings_arguments

        serve = sub.add_parser("serve", help="run the ICAP server")
        add_settings_arguments(serve)
        serve.set_defaults(func=_serve)
    for name, commands in _COMMAND_MODULES.items():
        if command is not None and command not in commands:
            continue
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if not exc.name or not name.startswith(exc.name):
                raise
            continue
        module.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    known = {"serve", *(c for cs in _COMMAND_MODULES.values() for c in cs)}
    parser = build_parser(argv[0] if argv and argv[0] in known else None)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"icap-dlp: {exc.render()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
