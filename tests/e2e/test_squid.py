"""curl -> Squid 5.7 -> icap-dlp -> origin, all on loopback."""

from __future__ import annotations

import base64
import json
import subprocess
import time

import pytest

from tests.e2e.conftest import CLEAN_JSON, SSE_GAP, Origin, Squid, curl, sha, sized_json

pytestmark = pytest.mark.e2e


def test_small_json(squid: Squid, origin: Origin) -> None:
    r = curl(squid.proxy, origin.url("clean.json"))
    assert r.code == 200 and r.body == CLEAN_JSON


@pytest.mark.parametrize("size", [65536, 1 << 20, 10 << 20])
def test_large_bodies_arrive_intact(squid: Squid, origin: Origin, size: int) -> None:
    r = curl(squid.proxy, origin.url(f"size-{size}.json"), timeout=60)
    assert r.code == 200, squid.log("cache.log")[-2000:]
    assert len(r.body) == size and sha(r.body) == sha(sized_json(size))
    print(f"\nthrough Squid: {size} bytes in {r.seconds:.3f} s")


def test_post_goes_through_reqmod(squid: Squid, origin: Origin) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
                       "params": {"name": "echo", "arguments": {"text": "hello"}}}).encode()
    r = curl(squid.proxy, origin.url("echo"), data=body)
    assert r.code == 200 and json.loads(r.body) == json.loads(body)
    big = sized_json(200_000)
    r = curl(squid.proxy, origin.url("echo"), data=big)
    assert r.code == 200 and sha(r.body) == sha(big)


def test_sse_first_event_arrives_before_the_origin_sends_the_second(squid: Squid, origin: Origin) -> None:
    origin.handler.sse_sent.clear()
    with subprocess.Popen(["curl", "-sN", "-x", squid.proxy, origin.url("sse")], stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        got_first = time.monotonic()
        rest = proc.stdout.read()
        proc.wait(30)
    assert first.startswith(b"event: message")
    sent = origin.handler.sse_sent
    assert len(sent) == 3
    assert got_first < sent[1], "the first event was held back until the origin sent the second"
    data = first + rest
    assert data.count(b"event: message") == 3
    assert b"notifications/progress" in data
    assert got_first - sent[0] < SSE_GAP


def test_authenticated_user_reaches_the_icap_server(squid_auth: Squid, origin: Origin) -> None:
    r = curl(squid_auth.proxy, origin.url("clean.json"), user="alice:secret")
    assert r.code == 200
    r = curl(squid_auth.proxy, origin.url("clean.json"))
    assert r.code == 407
    log = squid_auth.log("access.log")
    assert " alice " in log
    assert base64.b64encode(b"alice").decode() == "YWxpY2U="
