"""Deterministic MCP payloads shared by the locustfile and the bench script."""

from __future__ import annotations

import json
import random

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


def tool_result(size: int, *, secrets: bool = False, seed: int = 1, rpc_id: int = 1) -> bytes:
    """A JSON-RPC ``tools/call`` result of about ``size`` bytes."""
    rng = random.Random(seed)
    text = _prose(max(16, size - 200), rng)
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
    "respmod-sse": (9, "RESPMOD", "text/event-stream", sse_stream()),
    "reqmod-tools-call": (15, "REQMOD", "application/json", tool_call()),
}
