"""ICAPS end to end with real clients: c-icap-client ``-tls`` and Squid ``icaps://`` (Debian's
``squid-openssl``: the GnuTLS ``squid`` package ignores the ``tls-*`` options of icap_service and
refuses the line), with and without a client certificate."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, ServerProc, free_port, start_server, wait_port, wait_until
from tests.e2e import conftest as e2e
from tests.e2e.conftest import MCP_RESULT, Origin, Squid, curl, require
from tests.pki import Pki, make_pki

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def pki() -> Iterator[Pki]:
    """In a directory Squid's ``proxy`` user can read (pytest's tmp dirs are 0700)."""
    d = Path(tempfile.mkdtemp(prefix="icap-dlp-pki-", dir="/tmp"))
    d.chmod(0o755)
    p = make_pki(d / "pki")
    (d / "pki").chmod(0o755)
    if os.geteuid() == 0:
        pw = pwd.getpwnam("proxy")
        for f in (d / "pki").iterdir():
            os.chown(f, pw.pw_uid, pw.pw_gid)
    yield p
    shutil.rmtree(d, ignore_errors=True)


def _icaps_server(tmp: Path, pki: Pki, *args: str) -> tuple[ServerProc, int]:
    tport = free_port()
    srv = start_server(tmp, "--workers", "1", "--tls-port", str(tport), "--tls-cert", str(pki.server.cert),
                       "--tls-key", str(pki.server.key), *args)
    wait_port(tport, 60, srv.proc)
    return srv, tport


@pytest.fixture(scope="module")
def icaps(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[tuple[ServerProc, int]]:
    srv, tport = _icaps_server(tmp_path_factory.mktemp("icaps"), pki)
    yield srv, tport
    srv.stop()


@pytest.fixture(scope="module")
def icaps_mtls(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[tuple[ServerProc, int]]:
    srv, tport = _icaps_server(tmp_path_factory.mktemp("icaps-mtls"), pki, "--tls-client-ca", str(pki.ca))
    yield srv, tport
    srv.stop()


def cicap_tls(port: int, pki: Pki, *args: str) -> tuple[int, str]:
    exe = require("c-icap-client")
    # c-icap-client verifies the server against OpenSSL's default store: point it at the test CA
    env = {**os.environ, "SSL_CERT_FILE": str(pki.ca)}
    p = subprocess.run([exe, "-i", "127.0.0.1", "-p", str(port), "-tls", *args], capture_output=True,
                       text=True, timeout=60, env=env)
    return p.returncode, p.stdout + p.stderr  # it prints the ICAP answer on stderr


def test_cicap_client_tls_options_and_respmod(icaps: tuple[ServerProc, int], pki: Pki, tmp_path: Path) -> None:
    _, tport = icaps
    rc, out = cicap_tls(tport, pki, "-s", "respmod", "-v")
    assert rc == 0, out
    assert "ICAP/1.0 200 OK" in out and "Methods: RESPMOD" in out
    src, dst = tmp_path / "in.json", tmp_path / "out.json"
    src.write_bytes(MCP_RESULT)
    rc, log = cicap_tls(tport, pki, "-s", "respmod", "-f", str(src), "-o", str(dst), "-resp",
                        "http://origin.test/mcp.json", "-rhx", "Content-Type: application/json", "-v")
    assert rc == 0, log
    assert "X-DLP-Decision: redact" in log
    out = dst.read_text()
    assert "4111 1111 1111 1111" not in out and "AKIAIOSFODNN7EXAMPLE" not in out
    assert "[AWS_ACCESS_KEY_ID]" in out


def test_cicap_client_tls_fails_against_an_untrusted_server(icaps: tuple[ServerProc, int], tmp_path: Path) -> None:
    """The client really verifies: with an unrelated CA as its store there is no answer."""
    _, tport = icaps
    other = make_pki(tmp_path / "other")
    _rc, out = cicap_tls(tport, other, "-s", "respmod", "-v")
    assert "ICAP/1.0" not in out and "Failed to establish SSL connection" in out


def test_cicap_client_without_certificate_gets_no_answer_under_mtls(
        icaps_mtls: tuple[ServerProc, int], pki: Pki) -> None:
    srv, tport = icaps_mtls
    # Under TLS 1.3 the client's handshake returns before the server has checked the (missing)
    # certificate, so c-icap-client's exit code is timing: SIGPIPE when its request write hits the
    # alert, 0 when it reads the close first and prints empty OPTIONS (seen 7 times in 30). What the
    # server owes is no ICAP answer at all, and the reason in its log.
    _rc, out = cicap_tls(tport, pki, "-s", "respmod", "-v")
    assert "ICAP/1.0" not in out and "Methods:" not in out, out
    wait_until(lambda: "PEER_DID_NOT_RETURN_A_CERTIFICATE" in srv.log())  # the server logs it in its time


def _with_render(render: Callable[..., str], icap_port: int) -> Squid:
    original = e2e.render_squid_conf
    e2e.render_squid_conf = render  # type: ignore[assignment]
    try:
        return e2e.start_squid(icap_port)
    finally:
        e2e.render_squid_conf = original


def start_squid_icaps(tport: int, pki: Pki, client_cert: bool) -> Squid:
    """deploy/squid.conf with its icap:// services turned into icaps:// ones, optionally
    presenting the client certificate."""
    require("squid")
    original = e2e.render_squid_conf

    def render(icap_port: int, squid_port: int, rundir: Path, *, auth: bool = False) -> str:
        conf = original(icap_port, squid_port, rundir, auth=auth)
        opts = f"tls-cafile={pki.ca}"
        if client_cert:
            opts += f" tls-cert={pki.client.cert} tls-key={pki.client.key}"
        conf, n = re.subn(rf"icap://127\.0\.0\.1:{icap_port}/(\w+)\s+bypass=off",
                          rf"icaps://127.0.0.1:{tport}/\1 bypass=off {opts}", conf)
        assert n == 2
        return conf

    return _with_render(render, tport)


def start_kubernetes_squid(tport: int, pki: Pki) -> Squid:
    """The squid.conf of deploy/kubernetes/squid/configmap.yaml, run for real: only the Service
    name, the mounted certificate paths and the runtime paths are replaced for loopback."""
    require("squid")
    doc = yaml.safe_load((REPO / "deploy" / "kubernetes" / "squid" / "configmap.yaml").read_text())
    shipped: str = doc["data"]["squid.conf"]

    def render(icap_port: int, squid_port: int, rundir: Path, *, auth: bool = False) -> str:
        conf = shipped.replace("http_port 3128", f"http_port 127.0.0.1:{squid_port}")
        conf = conf.replace("icap-dlp.icap-dlp.svc.cluster.local:11344", f"127.0.0.1:{tport}")
        for mounted, real in (("ca.crt", pki.ca), ("tls.crt", pki.client.cert), ("tls.key", pki.client.key)):
            conf = conf.replace(f"/etc/squid/tls/{mounted}", str(real))
        conf = conf.replace("/var/run/squid/", f"{rundir}/").replace("/var/spool/squid", str(rundir))
        conf = conf.replace("stdio:/dev/stderr", f"{rundir}/cache.log")
        conf = conf.replace("access_log stdio:/dev/stdout", f"access_log stdio:{rundir}/access.log")
        conf = conf.replace("icap_log stdio:/dev/stdout", f"icap_log stdio:{rundir}/icap.log")
        assert "/etc/squid" not in conf and "svc.cluster.local" not in conf
        extra = ["dns_nameservers 127.0.0.1"] + (["cache_effective_user proxy"] if os.geteuid() == 0 else [])
        return "\n".join(extra) + "\n" + conf

    return _with_render(render, tport)


def _squid_supports_icaps() -> None:
    squid = require("squid")
    if "--with-openssl" not in subprocess.run([squid, "-v"], capture_output=True, text=True).stdout:
        msg = "this squid is the GnuTLS build: ICAPS needs Debian's squid-openssl"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.mark.parametrize("mtls", [False, True], ids=["tls", "mtls-with-client-cert"])
def test_squid_icaps_inspects_responses(request: pytest.FixtureRequest, pki: Pki, origin: Origin,
                                        mtls: bool) -> None:
    _squid_supports_icaps()
    _srv, tport = request.getfixturevalue("icaps_mtls" if mtls else "icaps")
    squid = start_squid_icaps(tport, pki, client_cert=mtls)
    try:
        r = curl(squid.proxy, origin.url("mcp.json"))
        assert r.code == 200, squid.log("cache.log")[-2000:]
        text = r.body.decode()
        assert "AKIAIOSFODNN7EXAMPLE" not in text and "[AWS_ACCESS_KEY_ID]" in text
        assert "dlp=redact" in squid.log("access.log")
    finally:
        squid.stop()


def test_the_kubernetes_squid_config_over_icaps_with_mtls(icaps_mtls: tuple[ServerProc, int], pki: Pki,
                                                          origin: Origin) -> None:
    _squid_supports_icaps()
    _, tport = icaps_mtls
    squid = start_kubernetes_squid(tport, pki)
    try:
        r = curl(squid.proxy, origin.url("mcp.json"))
        assert r.code == 200, squid.log("cache.log")[-2000:]
        assert b"AKIAIOSFODNN7EXAMPLE" not in r.body and b"[AWS_ACCESS_KEY_ID]" in r.body
        assert "dlp=redact" in squid.log("access.log")
    finally:
        squid.stop()


def test_squid_without_client_certificate_is_refused_under_mtls(
        icaps_mtls: tuple[ServerProc, int], pki: Pki, origin: Origin) -> None:
    _squid_supports_icaps()
    _srv, tport = icaps_mtls
    squid = start_squid_icaps(tport, pki, client_cert=False)
    try:
        r = curl(squid.proxy, origin.url("mcp.json"), timeout=30)
        # bypass=off: no ICAP answer means no content, never the uninspected response
        assert r.code >= 500
        assert b"AKIAIOSFODNN7EXAMPLE" not in r.body
    finally:
        squid.stop()
