"""ICAPS against the real server on loopback: TLS versions and suites, mTLS, plain + TLS listeners,
--no-plain-icap, certificate rotation in place (file rewrite, Kubernetes ..data swap, SIGHUP)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import urllib.request
from pathlib import Path

import pytest
from cryptography import x509

from icap_dlp.client import IcapClient, IcapClientError
from icap_dlp.config import load_settings
from icap_dlp.errors import ConfigErrors
from icap_dlp.server._tls import server_context
from tests.conftest import ServerProc, free_port, start_server, wait_port, wait_until
from tests.metrics.test_metrics import samples
from tests.pki import Pki, make_pki


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki")


def client_ctx(pki: Pki, cert: tuple[Path, Path] | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki.ca))
    if cert is not None:
        ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    return ctx


def tls_server(tmp_path: Path, pki: Pki, *args: str, cert: Path | None = None, key: Path | None = None
               ) -> tuple[ServerProc, int]:
    tport = free_port()
    srv = start_server(tmp_path, "--tls-port", str(tport), "--tls-cert", str(cert or pki.server.cert),
                       "--tls-key", str(key or pki.server.key), *args, wait="--no-plain-icap" not in args)
    try:
        wait_port(tport, 60, srv.proc)
    except RuntimeError:
        srv.stop()
        raise RuntimeError(f"server did not start:\n{srv.log()}") from None
    return srv, tport


def options_status(port: int, ctx: ssl.SSLContext | None, **kw: str) -> int:
    with IcapClient("127.0.0.1", port, timeout=10, tls=ctx, **kw) as c:  # type: ignore[arg-type]
        return c.options("respmod").status


def served_serial(port: int, pki: Pki) -> int:
    ctx = client_ctx(pki)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
        der = s.getpeercert(binary_form=True)
        assert der is not None
        return x509.load_der_x509_certificate(der).serial_number


def scrape(mport: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics", timeout=10) as r:
        return str(r.read().decode())


def live_pair(tmp_path: Path, pki: Pki) -> tuple[Path, Path]:
    """A copy of the server pair the test may rewrite in place."""
    live = tmp_path / "live"
    live.mkdir()
    cert, key = live / "tls.crt", live / "tls.key"
    shutil.copy(pki.server.cert, cert)
    shutil.copy(pki.server.key, key)
    return cert, key


@pytest.mark.parametrize("loop", ["--uvloop", "--no-uvloop"])
def test_plain_and_tls_listeners_together(tmp_path: Path, pki: Pki, loop: str) -> None:
    srv, tport = tls_server(tmp_path, pki, loop)
    try:
        assert options_status(srv.port, None) == 200
        with IcapClient("127.0.0.1", tport, timeout=10, tls=client_ctx(pki)) as c:
            assert c.options("respmod").status == 200
            assert c.reqmod(b'{"note":"card 4111 1111 1111 1111"}').status == 200  # inspected over TLS
            assert c._sock is not None and c._sock.version() == "TLSv1.3"  # type: ignore[attr-defined]
        assert f"icaps://127.0.0.1:{tport}" in srv.log()
    finally:
        srv.stop()


def test_tls_1_2_needs_forward_secret_aead_and_older_versions_are_refused(tmp_path: Path, pki: Pki) -> None:
    srv, tport = tls_server(tmp_path, pki)
    try:
        tls12 = client_ctx(pki)
        tls12.maximum_version = ssl.TLSVersion.TLSv1_2
        with IcapClient("127.0.0.1", tport, timeout=10, tls=tls12) as c:
            assert c.options("respmod").status == 200
            sock = c._sock
            assert isinstance(sock, ssl.SSLSocket)
            name, version, _ = sock.cipher()  # type: ignore[misc]
            assert version == "TLSv1.2" and name.startswith("ECDHE-") and ("GCM" in name or "CHACHA" in name)
        # a client that only offers a CBC suite without forward secrecy finds nothing in common
        weak = client_ctx(pki)
        weak.maximum_version = ssl.TLSVersion.TLSv1_2
        weak.set_ciphers("AES128-SHA256")
        with pytest.raises(ssl.SSLError):
            options_status(tport, weak)
        wait_until(lambda: "TLS handshake failed" in srv.log())  # logged by the server, in its time
    finally:
        srv.stop()


def test_server_context_floor_and_suites(pki: Pki) -> None:
    """TLS 1.1 cannot be tested on the wire (this OpenSSL will not even offer it): the context."""
    ctx = server_context(str(pki.server.cert), str(pki.server.key), str(pki.ca))
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.options & ssl.OP_NO_COMPRESSION and ctx.options & ssl.OP_NO_TICKET
    tls12 = [c["name"] for c in ctx.get_ciphers() if c["protocol"] == "TLSv1.2"]
    assert tls12 and all(n.startswith(("ECDHE-", "DHE-")) and ("GCM" in n or "CHACHA20" in n) for n in tls12)
    assert server_context(str(pki.server.cert), str(pki.server.key)).verify_mode == ssl.CERT_NONE


def test_mtls_requires_a_certificate_from_the_client_ca(tmp_path: Path, pki: Pki) -> None:
    mport = free_port()
    srv, tport = tls_server(tmp_path, pki, "--tls-client-ca", str(pki.ca), "--metrics-port", str(mport))
    try:
        assert options_status(tport, client_ctx(pki, (pki.client.cert, pki.client.key))) == 200
        for ctx in (client_ctx(pki), client_ctx(pki, (pki.stranger.cert, pki.stranger.key))):
            # TLS 1.3: the client learns of the refusal on its first read; never an ICAP answer
            with pytest.raises((ssl.SSLError, ConnectionError, IcapClientError)):
                options_status(tport, ctx)
        refused = 'icap_dlp_clients_refused_total{reason="tls_handshake"} 2.0'
        wait_until(lambda: refused in scrape(mport))
        # logged once (rate-limited), with the reason
        assert srv.log().count("TLS handshake failed") == 1
        assert "PEER_DID_NOT_RETURN_A_CERTIFICATE" in srv.log()
    finally:
        srv.stop()


def test_no_plain_icap_serves_icaps_only(tmp_path: Path, pki: Pki) -> None:
    srv, tport = tls_server(tmp_path, pki, "--no-plain-icap")
    try:
        assert options_status(tport, client_ctx(pki)) == 200
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", srv.port), timeout=5).close()
        assert f"icap://127.0.0.1:{srv.port}" not in srv.log()
    finally:
        srv.stop()


def test_settings_reject_incomplete_tls() -> None:
    for cli in ({"tls_cert": "a.pem"}, {"tls_client_ca": "ca.pem"}, {"plain_icap": False},
                {"tls_port": 11345}, {"allow_clients": "10.0.0.0/33"}):
        with pytest.raises(ConfigErrors):
            load_settings(cli, env={})
    s = load_settings({"tls_cert": "a.pem", "tls_key": "a.key"}, env={})
    assert s.effective_tls_port == 11344
    assert load_settings({}, env={}).effective_tls_port is None


def test_a_bad_certificate_stops_start_up_with_the_file_name(tmp_path: Path, pki: Pki) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    srv = start_server(tmp_path, "--tls-port", str(free_port()), "--tls-cert", str(bad),
                       "--tls-key", str(pki.server.key), wait=False)
    assert srv.proc.wait(60) != 0
    assert "bad.pem" in srv.log()


def renewal(tmp_path: Path, pki: Pki) -> tuple[Pki, Pki, int]:
    """A renewed server pair from another CA, a trust store with both CAs, the new serial."""
    renewed = make_pki(tmp_path / "renewed")
    both = tmp_path / "both.pem"
    both.write_bytes(pki.ca.read_bytes() + renewed.ca.read_bytes())
    want = x509.load_pem_x509_certificate(renewed.server.cert.read_bytes()).serial_number
    return renewed, Pki(both, pki.server, pki.client, pki.stranger), want


def test_certificate_rewritten_in_place_is_picked_up(tmp_path: Path, pki: Pki) -> None:
    cert, key = live_pair(tmp_path, pki)
    srv, tport = tls_server(tmp_path, pki, "--tls-reload-interval", "0.2", cert=cert, key=key)
    try:
        first = served_serial(tport, pki)
        renewed, trust, want = renewal(tmp_path, pki)
        assert want != first
        # the renewed pair, written the way Vault Agent templates do (rename over the old file)
        for src, dst in ((renewed.server.key, key), (renewed.server.cert, cert)):
            tmp = dst.with_suffix(".tmp")
            shutil.copy(src, tmp)
            os.replace(tmp, dst)
        wait_until(lambda: served_serial(tport, trust) == want)
        assert "TLS certificate reloaded" in srv.log()
    finally:
        srv.stop()


def test_kubernetes_secret_swap_and_sighup_reload(tmp_path: Path, pki: Pki) -> None:
    """A Secret volume: tls.crt -> ..data/tls.crt, ..data -> ..2026_x; an update creates a new
    timestamped dir and renames a new ..data link over the old one (one atomic step)."""
    vol = tmp_path / "secret"
    vol.mkdir()

    def publish(src: Pki, stamp: str) -> None:
        d = vol / f"..{stamp}"
        d.mkdir()
        shutil.copy(src.server.cert, d / "tls.crt")
        shutil.copy(src.server.key, d / "tls.key")
        os.symlink(d.name, vol / "..data_tmp")
        os.replace(vol / "..data_tmp", vol / "..data")

    publish(pki, "2026_11_26_01")
    for name in ("tls.crt", "tls.key"):
        os.symlink(f"..data/{name}", vol / name)
    # a long interval: only SIGHUP can make the server notice within the test
    srv, tport = tls_server(tmp_path, pki, "--tls-reload-interval", "3600",
                            cert=vol / "tls.crt", key=vol / "tls.key")
    try:
        renewed, trust, want = renewal(tmp_path, pki)
        before = served_serial(tport, trust)
        publish(renewed, "2026_11_26_02")
        shutil.rmtree(vol / "..2026_11_26_01")
        assert served_serial(tport, trust) == before  # not yet: the interval is an hour
        srv.signal(signal.SIGHUP)
        wait_until(lambda: served_serial(tport, trust) == want)
    finally:
        srv.stop()


def test_a_half_written_pair_keeps_the_last_good_certificate(tmp_path: Path, pki: Pki) -> None:
    cert, key = live_pair(tmp_path, pki)
    srv, tport = tls_server(tmp_path, pki, "--tls-reload-interval", "0.2", cert=cert, key=key)
    try:
        before = served_serial(tport, pki)
        other = make_pki(tmp_path / "other")
        shutil.copy(other.server.key, key)  # the key changed, the certificate not yet
        wait_until(lambda: "TLS files rejected" in srv.log())
        assert served_serial(tport, pki) == before
        assert options_status(tport, client_ctx(pki)) == 200
    finally:
        srv.stop()


def test_pending_handshakes_count_against_max_connections(tmp_path: Path, pki: Pki) -> None:
    mport = free_port()
    # a long handshake timeout: the silent client below must hold its slot for the whole test
    srv, tport = tls_server(tmp_path, pki, "--max-connections", "1", "--metrics-port", str(mport),
                            "--header-timeout", "300")
    try:
        def ok() -> bool:
            try:
                return options_status(tport, client_ctx(pki)) == 200
            except (ssl.SSLError, ConnectionError, IcapClientError):
                return False

        wait_until(ok)  # the harness's readiness probe has gone
        # ... and so has the last probe's connection on the server's side (else the silent client
        # below could be the one refused as busy)
        wait_until(lambda: sum(samples(scrape(mport), "icap_dlp_active_connections").values()) == 0)
        # a client that connects and never sends its ClientHello holds the only slot
        with socket.create_connection(("127.0.0.1", tport), timeout=10):
            wait_until(lambda: not ok())
            wait_until(lambda: 'icap_dlp_clients_refused_total{reason="busy"}' in scrape(mport))
        wait_until(ok)  # its slot is free again once it leaves
    finally:
        srv.stop()
