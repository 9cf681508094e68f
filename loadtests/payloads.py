"""Deterministic MCP payloads shared by the locustfile and the bench script."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence

_WORDS = (
    "the", "build", "ran", "tests", "against", "the", "staging", "cluster", "and", "reported", "latency",
    "budgets", "for", "each", "service", "owner", "while", "the", "deploy", "pipeline", "waited", "on",
    "approvals", "from", "the", "release", "team",
)


def _prose(n: int, rng: random.Random) -> str:
    out: list[str] = []
    size = 0
    while size < n:
        w = rng.choice(_WORDS)
        out.append(w)
        size += len(w) + 1
    return " ".join(out)[:n]


# Typical tool output: what an MCP server hands back from a shell, a log search or an API call.
_SENSITIVE = (
    "alice.martin@example.com", "ops+alerts@corp.example.org", "4111 1111 1111 1111", "5500-0000-0000-0004",
    "AKIAIOSFODNN7EXAMPLE", "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", "123-45-6789", "+1 415-555-2671",
    "+44 20 7946 0958", "(212) 555-0187",
)
_LEVELS = ("INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR")
_PATHS = ("/api/v2/items", "/api/v2/orders/search", "/healthz", "/api/v1/users/me", "/static/app.js")
_CODE = (
    "def fetch_page(session, cursor=None, limit=100):",
    "    resp = session.get(f\"{BASE}/items\", params={\"cursor\": cursor, \"limit\": limit}, timeout=30)",
    "    resp.raise_for_status()",
    "    return resp.json()[\"items\"], resp.headers.get(\"x-next-cursor\")",
    "for i, row in enumerate(rows):",
    "    total += row.qty * row.unit_price_cents",
    "if retries > 3 and not cache.hit(key):",
    "    raise TimeoutError(\"upstream did not answer in 2500 ms\")",
    "const result = await client.query({ sql, params: [orderId, 42], timeoutMs: 5000 });",
    "    assert len(batch) <= 512, len(batch)",
)


def _log_line(rng: random.Random) -> str:
    return (f"2026-11-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:"
            f"{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d}Z {rng.choice(_LEVELS)} "
            f"req={rng.getrandbits(64):016x} path={rng.choice(_PATHS)} status={rng.choice((200, 200, 201, 404, 500))} "
            f"latency_ms={rng.randint(1, 2500)} bytes={rng.randint(100, 999999)}")


def _json_line(rng: random.Random) -> str:
    return json.dumps({"id": f"{rng.getrandbits(128):032x}", "sku": f"SKU-{rng.randint(10000, 99999)}-"
                       f"{rng.choice('ABCDEFGH')}{rng.randint(0, 9)}", "qty": rng.randint(1, 500),
                       "price": round(rng.uniform(0.5, 2000), 2), "warehouse": rng.choice(("FRA1", "IAD2", "SIN3")),
                       "updated": f"2026-11-{rng.randint(1, 28):02d}T08:{rng.randint(0, 59):02d}:00Z"})


def sprinkle(line: str, rng: random.Random, density: float, tokens: Sequence[str]) -> str:
    """``line`` with each space-separated word replaced by one of ``tokens`` with probability ``density``."""
    words = line.split(" ")
    for i in range(len(words)):
        if rng.random() < density:
            words[i] = rng.choice(tokens)
    return " ".join(words)


def typical_text(size: int, *, seed: int = 5, density: float = 0.01) -> str:
    """About ``size`` characters of typical tool output: prose, code lines, log lines with ISO
    timestamps and 64-bit hex request ids, JSON lines with 128-bit hex ids, quantities and SKU
    codes; about ``density`` of the whitespace-separated tokens are sensitive (emails, cards, AWS
    and GitHub keys, SSNs, phones). Deterministic for a seed."""
    rng = random.Random(seed)
    lines: list[str] = []
    total = 0
    while total < size:
        k = rng.random()
        if k < 0.3:
            line = _prose(rng.randint(60, 240), rng)
        elif k < 0.45:
            line = rng.choice(_CODE)
        elif k < 0.8:
            line = _log_line(rng)
        else:
            line = _json_line(rng)
        if density:
            line = sprinkle(line, rng, density, _SENSITIVE)
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines)[:size]


def tool_result(size: int, *, secrets: bool = False, seed: int = 1, rpc_id: int = 1, typical: bool = False) -> bytes:
    """A JSON-RPC ``tools/call`` result of about ``size`` bytes: prose (optionally with a card, an
    email and an AWS key), or with ``typical`` :func:`typical_text` (1 % sensitive tokens)."""
    rng = random.Random(seed)
    text = typical_text(max(16, size - 200), seed=seed) if typical else _prose(max(16, size - 200), rng)
    if secrets:
        cut = len(text) // 3
        text = (text[:cut] + " card 4111 1111 1111 1111 contact alice@example.com key AKIAIOSFODNN7EXAMPLE "
                + text[cut:])
    msg = {"jsonrpc": "2.0", "id": rpc_id,
           "result": {"content": [{"type": "text", "text": text}], "isError": False}}
    return json.dumps(msg, separators=(",", ":")).encode()


def tool_call(size: int = 512, *, seed: int = 2) -> bytes:
    rng = random.Random(seed)
    msg = {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
           "params": {"name": "search_tickets", "arguments": {"query": _prose(size, rng)}}}
    return json.dumps(msg, separators=(",", ":")).encode()


def sse_stream(events: int = 5, size: int = 512, *, secrets: bool = True) -> bytes:
    out = []
    for i in range(events):
        body = tool_result(size, secrets=secrets and i == events // 2, seed=i, rpc_id=i + 1)
        out.append(b"event: message\ndata: " + body + b"\n\n")
    return b"".join(out)


SCENARIOS = {
    # name: (weight, direction, content type, body)
    "respmod-4k-clean": (50, "RESPMOD", "application/json", tool_result(4096)),
    "respmod-4k-secrets": (15, "RESPMOD", "application/json", tool_result(4096, secrets=True)),
    "respmod-64k": (10, "RESPMOD", "application/json", tool_result(65536, seed=3)),
    "respmod-1m": (1, "RESPMOD", "application/json", tool_result(1 << 20, seed=4)),
    # Typical tool output (logs, code, JSON lines, 1 % sensitive tokens): what real MCP traffic looks like.
    "respmod-4k-typical": (20, "RESPMOD", "application/json", tool_result(4096, seed=5, typical=True)),
    "respmod-64k-typical": (5, "RESPMOD", "application/json", tool_result(65536, seed=6, typical=True)),
    "respmod-sse": (9, "RESPMOD", "text/event-stream", sse_stream()),
    "reqmod-tools-call": (15, "REQMOD", "application/json", tool_call()),
}
