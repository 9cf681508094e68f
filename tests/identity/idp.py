"""A throw-away identity provider for tests: signing keys generated here, a JWKS document, tokens,
and a loopback HTTP server that publishes the JWKS (and can be told to change or stall it)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

ISSUER = "https://idp.example.test"
AUDIENCE = "mcp-gateway"


@dataclass
class SigningKey:
    kid: str
    alg: str
    private: Any

    @classmethod
    def new(cls, kid: str, alg: str = "RS256") -> SigningKey:
        if alg in ("RS256", "PS256"):
            priv: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        elif alg == "ES256":
            priv = ec.generate_private_key(ec.SECP256R1())
        else:
            priv = ed25519.Ed25519PrivateKey.generate()
        return cls(kid, alg, priv)

    def jwk(self) -> dict[str, Any]:
        algo = jwt.get_algorithm_by_name(self.alg)
        out: dict[str, Any] = json.loads(algo.to_jwk(self.private.public_key()))
        out.update(kid=self.kid, use="sig", alg=self.alg)
        return out

    def token(self, *, kid: str | None = "same", headers: dict[str, Any] | None = None, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "carol", "iat": now, "exp": now + 600}
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        hdr = {"kid": self.kid if kid == "same" else kid, **(headers or {})}
        if hdr["kid"] is None:
            del hdr["kid"]
        return jwt.encode(body, self.private, algorithm=self.alg, headers=hdr)


def jwks(*keys: SigningKey) -> dict[str, Any]:
    return {"keys": [k.jwk() for k in keys]}


def unsigned_token(**claims: Any) -> str:
    """``alg: none`` with otherwise perfect claims."""
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "mallory", "groups": ["contractors"], "exp": now + 600, **claims}
    return jwt.encode(body, None, algorithm="none")  # type: ignore[arg-type]


@dataclass
class JwksServer:
    document: dict[str, Any]
    port: int = 0
    hits: list[float] = field(default_factory=list)
    stall: threading.Event = field(default_factory=threading.Event)  # set: answer; clear: hang

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/.well-known/jwks.json"


@contextmanager
def serve_jwks(document: dict[str, Any]) -> Iterator[JwksServer]:
    state = JwksServer(document)
    state.stall.set()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            state.hits.append(time.monotonic())
            state.stall.wait(30)
            body = json.dumps(state.document).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    state.port = srv.server_address[1]
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield state
    finally:
        state.stall.set()
        srv.shutdown()
        srv.server_close()
