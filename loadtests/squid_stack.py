"""Locust through a real Squid: starts an origin, icap-dlp and Squid (deploy/squid.conf) on free
loopback ports, runs locust's SquidUser and IcapUser against them, stops everything by PID.

    python loadtests/squid_stack.py -u 8 -r 8 -t 30s [--workers 2] [more locust options]

The origin serves the payloads of ``payloads.py`` (``/mcp-4k.json`` is what SquidUser fetches).
Squid is started exactly as the end-to-end tests start it (``tests/e2e/conftest.py``), so the
shipped ``deploy/squid.conf`` is the one measured. Needs the ``squid`` Debian package.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench_icap import start_icap_dlp
from payloads import tool_result

from tests.e2e.conftest import start_squid

HERE = Path(__file__).resolve().parent

BODIES = {"/mcp-4k.json": tool_result(4096), "/mcp-4k-secrets.json": tool_result(4096, secrets=True)}


class _Origin(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # head and body are two writes: no 40 ms delayed-ACK stall

    def log_message(self, fmt: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = BODIES.get(self.path.split("?")[0])
        code = 200 if body is not None else 404
        body = body if body is not None else b"not found\n"
        self.send_response(code)
        self.send_header("Content-Type", "application/json" if code == 200 else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=2)
    args, locust_args = ap.parse_known_args()
    origin = ThreadingHTTPServer(("127.0.0.1", 0), _Origin)
    origin.daemon_threads = True
    threading.Thread(target=origin.serve_forever, daemon=True).start()
    server, icap_port = start_icap_dlp(args.workers)
    squid = None
    try:
        squid = start_squid(icap_port)
        cmd = ["locust", "-f", str(HERE / "locustfile.py"), "--headless", "--host", f"icap://127.0.0.1:{icap_port}",
               "--squid", squid.proxy, "--origin", f"http://127.0.0.1:{origin.server_address[1]}",
               "--only-summary", *(locust_args or ["-u", "8", "-r", "8", "-t", "30s"])]
        print(" ".join(cmd), file=sys.stderr)
        return subprocess.run(cmd).returncode
    finally:
        if squid is not None:
            squid.stop()
        server.terminate()
        server.wait(30)
        origin.shutdown()


if __name__ == "__main__":
    sys.exit(main())
