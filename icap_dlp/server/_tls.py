"""ICAPS: the server's TLS context, reloaded when cert-manager or Vault rotates the files in place.

TLS 1.2 or newer; for TLS 1.2 only forward-secret AEAD suites (ECDHE/DHE with AES-GCM or
ChaCha20-Poly1305), TLS 1.3 suites are OpenSSL's (all AEAD). With ``--tls-client-ca`` every client
must present a certificate that CA signed (mTLS), otherwise the handshake fails and no ICAP byte
is exchanged. No compression, no renegotiation, session tickets off (stateless resumption keys
would outlive a certificate rotation).

The files are checked every ``tls_reload_interval`` seconds and on SIGHUP: when their identity
(device, inode, size, mtime after following symlinks, which covers Kubernetes' ``..data`` swap and
an in-place rewrite) changes, a new context is built; new connections use it, open ones keep
theirs. A half-written or mismatched pair is rejected and the last good context stays.
"""

from __future__ import annotations

import logging
import os
import ssl

from icap_dlp.config import Settings
from icap_dlp.errors import ConfigError

log = logging.getLogger("icap_dlp.tls")

TLS12_CIPHERS = ":".join((
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    "DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384",
))
"""Mozilla's "intermediate" TLS 1.2 list: forward secrecy and AEAD only."""

FileId = tuple[tuple[int, int, int, int], ...]


def server_context(cert: str, key: str, client_ca: str | None = None) -> ssl.SSLContext:
    """A server-side context; ConfigError names the file that is wrong."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(TLS12_CIPHERS)
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE | ssl.OP_NO_TICKET
    ctx.options |= getattr(ssl, "OP_NO_RENEGOTIATION", 0)
    try:
        ctx.load_cert_chain(cert, key)
    except FileNotFoundError as exc:
        raise ConfigError(f"cannot read {exc.filename}: {exc.strerror}", field="tls_cert") from exc
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(f"cannot use the certificate {cert} with the key {key}: {exc}",
                          field="tls_cert") from exc
    if client_ca is not None:
        try:
            ctx.load_verify_locations(cafile=client_ca)
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(f"cannot load the client CA bundle {client_ca}: {exc}",
                              field="tls_client_ca") from exc
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def _file_ids(paths: tuple[str, ...]) -> FileId:
    out = []
    for p in paths:
        try:
            st = os.stat(p)  # follows symlinks: a swapped ..data link changes the inode
        except OSError:
            out.append((0, 0, 0, 0))
            continue
        out.append((st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(out)


class TlsContextHolder:
    """The current server context of one worker; :meth:`check` swaps in a rebuilt one."""

    def __init__(self, cert: str, key: str, client_ca: str | None = None) -> None:
        self.paths = tuple(p for p in (cert, key, client_ca) if p is not None)
        self.cert, self.key, self.client_ca = cert, key, client_ca
        self._ids = _file_ids(self.paths)
        self.context = server_context(cert, key, client_ca)
        self.reloads = 0
        self.failures = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> TlsContextHolder | None:
        if settings.tls_cert is None or settings.tls_key is None:
            return None
        return cls(settings.tls_cert, settings.tls_key, settings.tls_client_ca)

    def check(self, force: bool = False) -> bool:
        """Rebuild when the files changed (or ``force``: SIGHUP); True when a new context is active."""
        ids = _file_ids(self.paths)
        if not force and ids == self._ids:
            return False
        try:
            ctx = server_context(self.cert, self.key, self.client_ca)
        except ConfigError as exc:
            # cert-manager writes the pair one file after the other: a mismatch is usually
            # transient, so the files' identity is not remembered and the next check retries.
            self.failures += 1
            log.error("TLS files rejected, the current certificate stays: %s", exc.render())
            return False
        self._ids = ids
        self.context = ctx
        self.reloads += 1
        log.info("TLS certificate reloaded", extra={"fields": {"cert": self.cert}})
        return True
