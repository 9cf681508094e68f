"""Locust load test for icap-dlp.

    locust -f loadtests/locustfile.py --headless --host icap://127.0.0.1:1344 -u 16 -r 16 -t 30s

``IcapUser`` drives the project's own ICAP client over persistent connections and fires one locust
request event per ICAP exchange (request_type = ICAP method, name = scenario). ``SquidUser`` sends
plain HTTP through a real Squid (``--squid http://127.0.0.1:3128``) to an origin that serves the
same payloads (``--origin http://127.0.0.1:18080``); it is off unless ``--squid`` is given.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path
from typing import Any

from locust import User, between, constant_throughput, events, task

sys.path.insert(0, str(Path(__file__).resolve().parent))
from payloads import SCENARIOS

from icap_dlp.client import IcapClient


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument("--respmod-service", default="respmod")
    parser.add_argument("--reqmod-service", default="reqmod")
    parser.add_argument("--preview", type=int, default=1024, help="ICAP preview size (-1: none)")
    parser.add_argument("--scenario", default="", help="run only this scenario (default: weighted mix)")
    parser.add_argument("--squid", default="", help="http://host:port of a Squid in front of the service")
    parser.add_argument("--origin", default="", help="origin URL the SquidUser fetches through Squid")
    parser.add_argument("--user-rate", type=float, default=0.0,
                        help="requests/s per user (open pacing, e.g. 16 users x 62.5 = 1,000 req/s); "
                             "0: back to back")


class IcapUser(User):
    def wait_time(self) -> float:
        rate = getattr(self.environment.parsed_options, "user_rate", 0.0) or 0.0
        if rate <= 0:
            return 0.0
        return constant_throughput(rate)(self)  # type: ignore[no-any-return]

    def on_start(self) -> None:
        self.client = IcapClient.from_url(self.host or "icap://127.0.0.1:1344", timeout=30)
        opts = self.environment.parsed_options
        self.preview = None if opts is None or opts.preview < 0 else opts.preview
        self.respmod_service = opts.respmod_service if opts else "respmod"
        self.reqmod_service = opts.reqmod_service if opts else "reqmod"
        only = opts.scenario if opts else ""
        names = [only] if only else list(SCENARIOS)
        self.names = names
        self.weights = [SCENARIOS[n][0] for n in names]

    def on_stop(self) -> None:
        self.client.close()

    @task
    def exchange(self) -> None:
        name = random.choices(self.names, self.weights)[0]
        _, method, ctype, body = SCENARIOS[name]
        start = time.perf_counter()
        exc: Exception | None = None
        size = 0
        try:
            if method == "RESPMOD":
                resp = self.client.respmod(body, service=self.respmod_service, content_type=ctype,
                                           preview=self.preview)
            else:
                resp = self.client.reqmod(body, service=self.reqmod_service, content_type=ctype,
                                          preview=self.preview)
            size = len(resp.body or b"")
            if resp.status not in (200, 204):
                exc = RuntimeError(f"ICAP {resp.status}")
        except Exception as e:
            exc = e
            self.client.close()
        self.environment.events.request.fire(
            request_type=method, name=name, response_time=(time.perf_counter() - start) * 1000,
            response_length=size, exception=exc, context={},
        )


class SquidUser(User):
    """HTTP through a real Squid with icap-dlp behind it (enabled by --squid)."""

    wait_time = between(0, 0)
    weight = 0

    def on_start(self) -> None:
        import urllib.request

        opts = self.environment.parsed_options
        if not opts or not opts.squid or not opts.origin:
            raise RuntimeError("SquidUser needs --squid and --origin")
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": opts.squid}))
        self.origin = opts.origin.rstrip("/")

    @task
    def fetch(self) -> None:
        start = time.perf_counter()
        exc: Exception | None = None
        size = 0
        try:
            with self.opener.open(self.origin + "/mcp-4k.json", timeout=30) as r:
                size = len(r.read())
        except Exception as e:
            exc = e
        self.environment.events.request.fire(
            request_type="GET", name="squid-4k", response_time=(time.perf_counter() - start) * 1000,
            response_length=size, exception=exc, context={},
        )


@events.init.add_listener
def _enable_squid(environment: Any, **_: Any) -> None:
    opts = environment.parsed_options
    if opts is not None and getattr(opts, "squid", ""):
        # locust drops weight-0 classes when it builds the environment: add it back here.
        SquidUser.weight = 1
        if SquidUser not in environment.user_classes:
            environment.user_classes.append(SquidUser)
