"""The HMAC key ring: several keys, newest first, so a key can be rotated without breaking
``X-DLP-Context`` between instances that have not all picked up the new key yet.

``ICAP_DLP_HMAC_KEY_FILE`` holds one key per line, newest first; blank lines and ``#`` comments
are ignored. A line is ``<id>:<secret>`` when it starts with a key id (letters, digits, ``._-``,
at most 64) and a colon, otherwise the whole line is the secret and its id is derived from it
(``k-`` + 8 hex digits of a SHA-256 over the key: identifies it, reveals nothing usable).

* the newest key signs ``X-DLP-Context`` and keys the hashed tokens and audit fingerprints; audit
  records name its id (``key_id``) so a SIEM knows which fingerprints are comparable;
* every key in the file verifies ``X-DLP-Context``;
* the file is re-read on SIGHUP (and whenever the policy reloads).

``ICAP_DLP_HMAC_KEY`` (one key, no rotation) is still read when no file is named.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from icap_dlp.errors import ConfigError

HMAC_KEY_ENV = "ICAP_DLP_HMAC_KEY"
HMAC_KEY_FILE_ENV = "ICAP_DLP_HMAC_KEY_FILE"
MIN_KEY_BYTES = 16
MAX_KEYS = 16
_ID_LINE = re.compile(rb"^([A-Za-z0-9._-]{1,64}):(.+)$")


def derived_id(secret: bytes) -> str:
    return "k-" + hashlib.sha256(b"icap-dlp key id\x00" + secret).hexdigest()[:8]


@dataclass(frozen=True)
class HmacKey:
    id: str
    secret: bytes = b""

    def __repr__(self) -> str:  # never print the secret
        return f"HmacKey(id={self.id!r})"


@dataclass(frozen=True)
class KeyRing:
    keys: tuple[HmacKey, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("a key ring needs at least one key")

    @property
    def signing(self) -> HmacKey:
        return self.keys[0]

    @property
    def secrets(self) -> tuple[bytes, ...]:
        return tuple(k.secret for k in self.keys)

    @classmethod
    def single(cls, secret: bytes, key_id: str | None = None) -> KeyRing:
        return cls((HmacKey(key_id or derived_id(secret), secret),))


def parse_key_file(data: bytes, source: str = HMAC_KEY_FILE_ENV) -> KeyRing:
    keys: list[HmacKey] = []
    seen: set[str] = set()
    for lineno, raw in enumerate(data.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(b"#"):
            continue
        m = _ID_LINE.match(line)
        key_id, secret = (m.group(1).decode(), m.group(2).strip()) if m else (None, line)
        if len(secret) < MIN_KEY_BYTES:
            raise ConfigError(f"the HMAC key must be at least {MIN_KEY_BYTES} bytes", file=source, line=lineno,
                              field=HMAC_KEY_FILE_ENV)
        key_id = key_id or derived_id(secret)
        if key_id in seen:
            raise ConfigError(f"key id {key_id!r} appears twice", file=source, line=lineno,
                              field=HMAC_KEY_FILE_ENV)
        seen.add(key_id)
        keys.append(HmacKey(key_id, secret))
    if not keys:
        raise ConfigError("the HMAC key file holds no key", file=source, field=HMAC_KEY_FILE_ENV)
    if len(keys) > MAX_KEYS:
        raise ConfigError(f"at most {MAX_KEYS} keys (each request may try them all)", file=source,
                          field=HMAC_KEY_FILE_ENV)
    return KeyRing(tuple(keys))


def load_key_ring() -> KeyRing | None:
    """From the file named by ICAP_DLP_HMAC_KEY_FILE, else ICAP_DLP_HMAC_KEY, else None."""
    path = os.environ.get(HMAC_KEY_FILE_ENV)
    if path:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read the HMAC key file: {exc.strerror}", file=path,
                              field=HMAC_KEY_FILE_ENV) from exc
        return parse_key_file(data, path)
    value = os.environ.get(HMAC_KEY_ENV)
    if value:
        if len(value) < MIN_KEY_BYTES:
            raise ConfigError(f"the HMAC key must be at least {MIN_KEY_BYTES} bytes", field=HMAC_KEY_ENV)
        return KeyRing.single(value.encode())
    return None
