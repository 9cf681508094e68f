"""The client allow-list (``--allow-clients CIDR,...``) and a rate-limited warning log.

Kept free of server imports: the settings model validates the list with :func:`parse_networks`.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Sequence

from icap_dlp.errors import ConfigError

log = logging.getLogger("icap_dlp.server")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(spec: str) -> tuple[Network, ...]:
    """``"10.0.0.0/8, 192.168.1.7"`` -> networks; a bare address is a /32 (/128)."""
    out: list[Network] = []
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ConfigError(f"not a CIDR or address: {item!r}", field="allow_clients") from exc
    if not out:
        raise ConfigError("an empty allow-list would refuse every client", field="allow_clients")
    return tuple(out)


class AllowList:
    """``None`` networks = anyone may connect."""

    def __init__(self, networks: Sequence[Network] | None) -> None:
        self.networks = tuple(networks) if networks is not None else None

    @classmethod
    def from_spec(cls, spec: str | None) -> AllowList:
        return cls(parse_networks(spec) if spec is not None else None)

    def allows(self, peer: str | None) -> bool:
        if self.networks is None:
            return True
        if peer is None:  # no address (a UNIX socket pair in tests): nothing to match
            return False
        try:
            addr = ipaddress.ip_address(peer.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped  # ::ffff:10.1.2.3 on a dual-stack socket is 10.1.2.3
        return any(addr.version == net.version and addr in net for net in self.networks)


class RateLimitedLog:
    """Log a warning for a reason at most once per ``interval`` seconds, with the count suppressed."""

    def __init__(self, interval: float = 10.0) -> None:
        self.interval = interval
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, reason: str, msg: str, **fields: object) -> bool:
        now = time.monotonic()
        last = self._last.get(reason)
        if last is not None and now - last < self.interval:
            self._suppressed[reason] = self._suppressed.get(reason, 0) + 1
            return False
        self._last[reason] = now
        suppressed = self._suppressed.pop(reason, 0)
        log.warning(msg, extra={"fields": {**fields, "reason": reason, "suppressed": suppressed}})
        return True
