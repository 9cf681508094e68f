"""Shared fixtures: free loopback ports and icap-dlp servers started (and stopped) by PID."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before opening port {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"port {port} did not open within {timeout} s")


@dataclass
class ServerProc:
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, sig: int) -> None:
        os.kill(self.proc.pid, sig)

    def stop(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


def start_server(tmp_path: Path, *args: str, env: dict[str, str] | None = None,
                 wait: bool = True) -> ServerProc:
    """Start ``python -m icap_dlp serve`` on a free 127.0.0.1 port (stop it with ``.stop()``)."""
    port = free_port()
    log_path = tmp_path / f"icap-dlp-{port}.log"
    cmd = [sys.executable, "-m", "icap_dlp", "serve", "--host", "127.0.0.1", "--port", str(port), *args]
    if "--workers" not in args:
        cmd += ["--workers", "1"]
    full_env = {**os.environ, **(env or {})}
    with open(log_path, "wb") as logf:
        proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=full_env, cwd=tmp_path)
    srv = ServerProc(proc, port, log_path)
    if wait:
        try:
            wait_port(port, 60, proc)
        except RuntimeError:
            srv.stop()
            raise RuntimeError(f"server did not start:\n{srv.log()}") from None
    return srv


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., ServerProc]]:
    started: list[ServerProc] = []

    def make(*args: str, **kw: object) -> ServerProc:
        srv = start_server(tmp_path, *args, **kw)  # type: ignore[arg-type]
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()


@pytest.fixture(scope="session")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    """One server (2 workers) shared by read-only tests."""
    srv = start_server(tmp_path_factory.mktemp("shared-server"), "--workers", "2")
    yield srv
    srv.stop()


def wait_until(cond: Callable[[], bool], timeout: float = 60.0, interval: float = 0.05,
               detail: Callable[[], str] | None = None) -> None:
    """Poll ``cond`` until it holds; AssertionError after ``timeout`` seconds (never a fixed sleep),
    with ``detail()`` (a server log tail, say) in its message."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s" + (f": {detail()}" if detail else ""))
