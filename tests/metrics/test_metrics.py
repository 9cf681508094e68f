"""/metrics aggregates every worker (Prometheus text format), /healthz and /readyz answer."""

from __future__ import annotations

import json
import signal
import urllib.error
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from icap_dlp.client import IcapClient
from icap_dlp.config import default_policy_path
from tests.conftest import free_port, wait_until


def get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except urllib.error.URLError:
        return 0, b""


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    out: dict[tuple[tuple[str, str], ...], float] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == name:
                key = tuple(sorted(s.labels.items()))
                out[key] = out.get(key, 0.0) + s.value
    return out


def test_metrics_health_and_readiness(server_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pol = tmp_path / "p.yaml"
    pol.write_text(default_policy_path().read_text())
    mport = free_port()
    srv = server_factory("--workers", "2", "--metrics-port", str(mport), "--policy", str(pol))
    wait_until(lambda: get(mport, "/readyz")[0] == 200, detail=lambda: srv.log()[-2000:])  # every worker up
    body = json.dumps({"jsonrpc": "2.0", "id": 1,
                       "result": {"content": [{"type": "text", "text": "AKIAIOSFODNN7EXAMPLE"}]}})
    for _ in range(6):  # separate connections spread over both workers
        with IcapClient("127.0.0.1", srv.port) as c:
            assert c.respmod(body.encode()).status == 200
            assert c.respmod(b'{"a": "clean"}').status == 204
    pol.write_text("version: 1\nname: bad\nrules:\n  - id: x\n    action: explode\n")
    srv.signal(signal.SIGHUP)
    wait_until(lambda: bool(samples(get(mport, "/metrics")[1].decode(), "icap_dlp_policy_reloads_total").get(
        (("result", "rejected"),))), detail=lambda: srv.log()[-2000:])
    status, raw = get(mport, "/metrics")
    assert status == 200
    text = raw.decode()
    reqs = samples(text, "icap_dlp_requests_total")
    redact = sum(v for k, v in reqs.items() if ("decision", "redact") in k)
    allow = sum(v for k, v in reqs.items() if ("decision", "allow") in k)
    assert redact == 6 and allow == 6
    findings = samples(text, "icap_dlp_findings_total")
    assert findings[(("detector", "aws-access-key-id"),)] == 6
    assert samples(text, "icap_dlp_policy_reloads_total")[(("result", "rejected"),)] >= 1
    assert "icap_dlp_stage_seconds_bucket" in text and "icap_dlp_active_connections" in text
    assert get(mport, "/healthz")[0] == 200
    code, ready = get(mport, "/readyz")
    assert code == 200 and json.loads(ready)["workers_alive"] == 2
    assert "AKIAIOSFODNN7EXAMPLE" not in text
