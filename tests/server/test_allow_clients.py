"""--allow-clients: a connection from elsewhere is closed before TLS and before any ICAP byte.

Loopback only: 127.0.0.1 and 127.0.0.2 are both loopback addresses on Linux; the client socket
binds its source address to pick which one the server sees.
"""

from __future__ import annotations

import socket
import ssl
import time
from pathlib import Path

import pytest

from icap_dlp.allowlist import AllowList, RateLimitedLog, parse_networks
from icap_dlp.client import IcapClient
from icap_dlp.errors import ConfigError
from tests.conftest import free_port, wait_until
from tests.pki import make_pki
from tests.server.test_tls import client_ctx, scrape, tls_server

OPTIONS = b"OPTIONS icap://127.0.0.1/respmod ICAP/1.0\r\nHost: 127.0.0.1\r\n\r\n"


def refused_silently(port: int, source: str) -> bytes:
    """Connect from ``source``, send a request, return whatever comes back before the close."""
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0)) as s:
        try:
            s.sendall(OPTIONS)
            out = b""
            while chunk := s.recv(4096):
                out += chunk
        except ConnectionResetError:
            return b"<reset>"
        return out


def test_parse_and_match() -> None:
    allow = AllowList(parse_networks("10.0.0.0/8, 192.168.1.7 ,2001:db8::/32"))
    assert allow.allows("10.200.3.4") and allow.allows("192.168.1.7") and allow.allows("2001:db8::1")
    assert allow.allows("::ffff:10.1.2.3")  # a dual-stack socket's view of an IPv4 client
    assert not allow.allows("192.168.1.8") and not allow.allows("11.0.0.1") and not allow.allows(None)
    assert not allow.allows("garbage")
    assert AllowList(None).allows("203.0.113.9")
    for bad in ("10.0.0.0/33", "nope", " , "):
        with pytest.raises(ConfigError, match="allow_clients"):
            parse_networks(bad)


def test_refusal_log_is_rate_limited(caplog: pytest.LogCaptureFixture) -> None:
    log = RateLimitedLog(interval=3600)
    assert log.warning("not_allowed", "refused", client="a")
    assert not log.warning("not_allowed", "refused", client="b")
    assert log.warning("tls_handshake", "other reason")
    log._last["not_allowed"] = time.monotonic() - 7200
    assert log.warning("not_allowed", "refused", client="c")
    recs = [r for r in caplog.records if r.getMessage() == "refused"]
    assert [r.fields["client"] for r in recs] == ["a", "c"]  # type: ignore[attr-defined]
    assert recs[1].fields["suppressed"] == 1  # type: ignore[attr-defined]


def test_plain_and_tls_listeners_close_unlisted_clients_before_any_byte(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    mport = free_port()
    srv, tport = tls_server(tmp_path, pki, "--allow-clients", "127.0.0.2/32", "--metrics-port", str(mport))
    try:
        # listed: plain and TLS both answer
        with IcapClient("127.0.0.1", srv.port, timeout=10, source="127.0.0.2") as c:
            assert c.options("respmod").status == 200
        with IcapClient("127.0.0.1", tport, timeout=10, tls=client_ctx(pki), source="127.0.0.2") as c:
            assert c.options("respmod").status == 200
        # unlisted: no ICAP answer at all (not even a 403), and no TLS handshake
        assert refused_silently(srv.port, "127.0.0.1") in (b"", b"<reset>")
        with pytest.raises((ssl.SSLError, ConnectionError)), \
                IcapClient("127.0.0.1", tport, timeout=10, tls=client_ctx(pki), source="127.0.0.1") as c:
            c.options("respmod")
        assert refused_silently(tport, "127.0.0.1") in (b"", b"<reset>")  # bytes of a non-TLS client
        # 3 here + the two readiness probes of the test harness (wait_port connects from 127.0.0.1)
        want = 'icap_dlp_clients_refused_total{reason="not_allowed"} 5.0'
        wait_until(lambda: want in scrape(mport))
        assert 'reason="tls_handshake"' not in scrape(mport)  # closed before the handshake began
        assert srv.log().count("client not in --allow-clients") == 1  # rate-limited
        assert '"client": "127.0.0.1"' in srv.log()
    finally:
        srv.stop()
