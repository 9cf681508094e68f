"""Building the RequestContext from ICAP and encapsulated HTTP headers (identity, MCP context).

The MCP tool name travels in the REQMOD body, which Squid does not send with RESPMOD. REQMOD
answers carry it back in an ICAP header (``X-DLP-Context``); Squid's
``adaptation_masterx_shared_names X-DLP-Context`` hands it to the RESPMOD of the same
transaction. The value is ``v1.<base64url JSON>.<signature>``; the signature is an HMAC with the
server key when one is configured, so a forged header from elsewhere is ignored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from urllib.parse import urlsplit

from icap_dlp.icap import IcapRequest, Method
from icap_dlp.identity import IdentityResolver
from icap_dlp.identity import decode_user as decode_user  # re-exported (it lived here)
from icap_dlp.model import Direction, RequestContext
from icap_dlp.policy import GlobalSettings

_MAX_CONTEXT = 2048


def encode_context(data: dict[str, str], key: bytes | None) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")
    sig = hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()[:32] if key else "-"
    return f"v1.{payload}.{sig}"


def decode_context(value: str | None, key: bytes | Sequence[bytes] | None) -> dict[str, str]:
    """``key``: one key, or every key of the ring (newest first: during a rotation a peer may
    still sign with the previous one)."""
    if not value or len(value) > _MAX_CONTEXT:
        return {}
    parts = value.strip().split(".")
    if len(parts) != 3 or parts[0] != "v1":
        return {}
    payload, sig = parts[1], parts[2]
    if key is not None:
        keys = (key,) if isinstance(key, bytes) else tuple(key)
        wants = (hmac.new(k, payload.encode(), hashlib.sha256).hexdigest()[:32] for k in keys)
        if not any(hmac.compare_digest(want, sig) for want in wants):
            return {}
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, binascii.Error):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}


def _url_host(url: str) -> str | None:
    """The host of an absolute request target; None when the target does not parse
    (``http://[x/`` makes urlsplit raise: an odd target is the client's problem, not a crash)."""
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def build_context(req: IcapRequest, client: str | None, settings: GlobalSettings,
                  key: bytes | Sequence[bytes] | None,
                  identity: IdentityResolver | None = None) -> RequestContext:
    """``identity``: the policy version's resolver (built with its JWKS); None: headers only."""
    direction = Direction.REQMOD if req.method is Method.REQMOD else Direction.RESPMOD
    http_req = req.http_request
    who = (identity or IdentityResolver(settings.identity)).resolve(req)
    url = http_req.target if http_req is not None else None
    host = None
    if http_req is not None:
        host = http_req.headers.get("Host")
        if url and "://" in url:
            host = _url_host(url) or host
    if host:
        host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if direction is Direction.RESPMOD and req.http_response is not None:
        ctype = req.http_response.headers.get("Content-Type")
    else:
        ctype = http_req.headers.get("Content-Type") if http_req is not None else None
    shared = decode_context(req.headers.get(settings.context_header), key)
    client_ip = req.headers.get("X-Client-IP") or client
    return RequestContext(
        direction=direction, service=req.service, client_ip=client_ip, user=who.user, groups=who.groups,
        http_method=http_req.method if http_req is not None else None, url=url, host=host,
        content_type=ctype, mcp_method=shared.get("m"), tool=shared.get("t"),
        extra={"jsonrpc_id": shared["i"]} if "i" in shared else {},
        authenticated=who.authenticated, identity_source=who.source, token_error=who.token_error,
    )
