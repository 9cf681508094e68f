"""deploy/kubernetes: every manifest passes ``kubernetes-validate --strict`` (offline: the package
ships its schemas), the required kinds are there, the Deployment is hardened as documented, the
policy ConfigMap passes its own tests, and hot reload survives the ConfigMap ``..data`` swap."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from icap_dlp.client import IcapClient
from icap_dlp.config import Settings, env_name
from tests.conftest import REPO, ServerProc, wait_until

K8S = REPO / "deploy" / "kubernetes"
MANIFESTS = sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")
CRD_KINDS = {"Certificate", "Issuer", "Kustomization"}  # no schema in kubernetes-validate: warned


def validator() -> str:
    exe = shutil.which("kubernetes-validate") or str(Path(sys.executable).parent / "kubernetes-validate")
    if not os.path.exists(exe):
        pytest.fail("kubernetes-validate is not installed (pip install -e '.[dev]')")
    return exe


def docs() -> list[tuple[Path, dict[str, Any]]]:
    out = []
    for p in MANIFESTS:
        out += [(p, d) for d in yaml.safe_load_all(p.read_text()) if d]
    return out


def by_kind(kind: str, name: str | None = None) -> dict[str, Any]:
    found = [d for _, d in docs() if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, (kind, name, len(found))
    return found[0]


def test_every_manifest_passes_kubernetes_validate_strict() -> None:
    files = [*MANIFESTS, K8S / "kustomization.yaml"]
    p = subprocess.run([validator(), "--strict", *map(str, files)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout + p.stderr
    for line in out.splitlines():
        if line.startswith("WARN"):
            # only kinds without a bundled schema may be skipped, never a core kind
            assert any(f"kind {k} " in line for k in CRD_KINDS), line
        assert not line.startswith("ERROR"), line
    for path, d in docs():
        if d["kind"] not in CRD_KINDS:
            assert f"passed for resource {d['kind'].lower()}/{d['metadata']['name']}" in out, path


def test_the_validator_does_reject_a_broken_manifest(tmp_path: Path) -> None:
    dep = yaml.safe_load((K8S / "deployment.yaml").read_text())
    dep["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesytem"] = True  # typo
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(dep))
    p = subprocess.run([validator(), "--strict", str(bad)], capture_output=True, text=True, timeout=300)
    assert p.returncode != 0 and "readOnlyRootFilesytem" in p.stdout + p.stderr


def test_required_kinds_and_kustomization_lists_every_file() -> None:
    kinds = {d["kind"] for _, d in docs()}
    assert {"Deployment", "Service", "ConfigMap", "HorizontalPodAutoscaler", "PodDisruptionBudget",
            "NetworkPolicy", "Certificate"} <= kinds
    kust = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert sorted(kust["resources"]) == sorted(str(p.relative_to(K8S)) for p in MANIFESTS)


def test_deployment_is_hardened() -> None:
    dep = by_kind("Deployment", "icap-dlp")
    pod = dep["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    sc = c["securityContext"]
    psc = pod["securityContext"]
    assert psc["runAsNonRoot"] and psc["seccompProfile"]["type"] == "RuntimeDefault"
    assert sc["readOnlyRootFilesystem"] and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert pod["automountServiceAccountToken"] is False
    assert c["resources"]["requests"] and c["resources"]["limits"]["cpu"] and c["resources"]["limits"]["memory"]
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz" and c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    env = {e["name"]: e.get("value") for e in c["env"]}
    pause = int(c["lifecycle"]["preStop"]["exec"]["command"][1])
    assert pod["terminationGracePeriodSeconds"] > pause + float(env["ICAP_DLP_SHUTDOWN_TIMEOUT"])
    # every place the server writes is an emptyDir: the metrics directory (TMPDIR), the audit spool
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    empty = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
    assert mounts[env["TMPDIR"]] in empty and mounts[env["ICAP_DLP_AUDIT_SPOOL_DIR"]] in empty
    # every ICAP_DLP_ variable names a real setting (or the HMAC key file), with a valid value
    fields = {env_name(f): f for f in Settings.model_fields}
    values = {}
    for name, value in env.items():
        if name.startswith("ICAP_DLP_") and name != "ICAP_DLP_HMAC_KEY_FILE":
            assert name in fields, name
            values[fields[name]] = value
    s = Settings.model_validate(values)
    assert s.tls_enabled and s.effective_tls_port == 11344 and s.workers == 0
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"icap": s.port, "icaps": 11344, "metrics": s.metrics_port}
    svc = by_kind("Service", "icap-dlp")
    assert {p["name"] for p in svc["spec"]["ports"]} == {"icap", "icaps", "metrics"}


def test_network_policy_scopes_icap_to_the_proxy_and_metrics_to_monitoring() -> None:
    np = by_kind("NetworkPolicy")
    rules = np["spec"]["ingress"]
    icap = next(r for r in rules if {"port": "icaps", "protocol": "TCP"} in r["ports"])
    assert {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "squid"}}} in icap["from"]
    metrics = next(r for r in rules if {"port": "metrics", "protocol": "TCP"} in r["ports"])
    assert metrics["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    squid = by_kind("Deployment", "squid")
    assert squid["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == "squid"


def test_policy_configmap_passes_its_own_tests(tmp_path: Path) -> None:
    cm = by_kind("ConfigMap", "icap-dlp-policies")
    for name, text in cm["data"].items():
        (tmp_path / name).write_text(text)
    p = subprocess.run([sys.executable, "-m", "icap_dlp", "policy", "test", str(tmp_path)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr


def _configmap_volume(vol: Path, files: dict[str, str], stamp: str) -> None:
    """What the kubelet does: files in a new ..<timestamp> dir, a ..data_tmp link renamed over ..data
    (atomic), top-level links to ..data/<name> created once; the old dir removed afterwards."""
    d = vol / f"..{stamp}"
    d.mkdir()
    for name, text in files.items():
        (d / name).write_text(text)
    old = os.readlink(vol / "..data") if (vol / "..data").is_symlink() else None
    os.symlink(d.name, vol / "..data_tmp")
    os.replace(vol / "..data_tmp", vol / "..data")
    for name in files:
        if not (vol / name).is_symlink():
            os.symlink(f"..data/{name}", vol / name)
    if old:
        shutil.rmtree(vol / old)


CARD = json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"content": [
    {"type": "text", "text": "card 4111 1111 1111 1111"}]}}).encode()


def test_hot_reload_survives_the_configmap_data_swap(server_factory: Callable[..., ServerProc],
                                                     tmp_path: Path) -> None:
    cm = by_kind("ConfigMap", "icap-dlp-policies")
    vol = tmp_path / "policies"
    vol.mkdir()
    _configmap_volume(vol, cm["data"], "2026_11_26_23_00_00.1")
    srv = server_factory("--policy", str(vol))

    def decision() -> str:
        with IcapClient("127.0.0.1", srv.port) as c:
            return str(c.respmod(CARD).headers.get("X-DLP-Decision"))

    assert decision() == "redact"
    stricter = cm["data"]["policy.yaml"].replace("min_count: 10}", "min_count: 1}")
    assert stricter != cm["data"]["policy.yaml"]
    _configmap_volume(vol, {"policy.yaml": stricter}, "2026_11_26_23_05_00.2")
    wait_until(lambda: decision() == "block")
    # a broken update is rejected and the last good version keeps serving
    _configmap_volume(vol, {"policy.yaml": "version: 1\nrules: [{id: x, action: nope}]\n"}, "2026_11_26_23_10_00.3")
    wait_until(lambda: "reload rejected" in srv.log())
    assert decision() == "block"
    # and the next good one is picked up again
    _configmap_volume(vol, cm["data"], "2026_11_26_23_15_00.4")
    wait_until(lambda: decision() == "redact")
    assert sorted(p.name for p in vol.iterdir()) == ["..2026_11_26_23_15_00.4", "..data", "policy.yaml"]
