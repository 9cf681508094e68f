"""How many CPUs this process may actually use: ``--workers 0`` starts one worker per CPU.

``os.cpu_count()`` is the node's core count; in a container that is wrong twice over. The CPU
affinity mask (``taskset``, cpusets, Kubernetes' static CPU manager) limits which cores run us,
and the cgroup CPU quota (a pod's ``resources.limits.cpu``) limits how much time we get on them.
The answer is the smaller of the two, rounded up (a 1.5-CPU limit starts 2 workers), at least 1.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_SELF_CGROUP = Path("/proc/self/cgroup")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _v2_quota(root: Path, relative: str) -> float | None:
    """cgroup v2: ``cpu.max`` is ``"$MAX $PERIOD"`` or ``"max $PERIOD"``. Every ancestor may limit,
    so the smallest quota on the path from our group up to the root wins."""
    best: float | None = None
    node = root / relative.strip("/") if relative.strip("/") and ".." not in relative else root
    while True:
        raw = _read(node / "cpu.max")
        if raw:
            parts = raw.split()
            if len(parts) == 2 and parts[0] != "max":
                try:
                    quota, period = int(parts[0]), int(parts[1])
                except ValueError:
                    quota, period = 0, 0
                if quota > 0 and period > 0:
                    best = quota / period if best is None else min(best, quota / period)
        if node == root or len(node.parts) <= len(root.parts):
            break
        node = node.parent
    return best


def _v1_quota(root: Path, relative: str) -> float | None:
    """cgroup v1: ``cpu.cfs_quota_us`` (-1 = none) over ``cpu.cfs_period_us``."""
    for mount in ("cpu,cpuacct", "cpu", "cpuacct,cpu"):
        base = root / mount
        if not base.is_dir():
            continue
        for d in (base / relative.lstrip("/"), base):
            q, p = _read(d / "cpu.cfs_quota_us"), _read(d / "cpu.cfs_period_us")
            if q is None or p is None:
                continue
            try:
                quota, period = int(q), int(p)
            except ValueError:
                continue
            if quota > 0 and period > 0:
                return quota / period
            return None
    return None


def cgroup_cpu_limit(root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_SELF_CGROUP) -> float | None:
    """The CPU quota of our cgroup in CPUs (e.g. 1.5), or None when unlimited or unknown."""
    lines = (_read(proc_cgroup) or "").splitlines()
    v2_path = None
    v1_path = None
    for line in lines:
        hid, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hid == "0" and controllers == "":
            v2_path = path
        elif "cpu" in controllers.split(","):
            v1_path = path
    if v1_path is not None:
        return _v1_quota(root, v1_path)
    if (root / "cgroup.controllers").exists():
        return _v2_quota(root, v2_path or "/")
    return None


def usable_cpus(root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_SELF_CGROUP,
                affinity: set[int] | None = None) -> int:
    """CPUs this process may use: ``min(affinity, ceil(cgroup quota))``, at least 1."""
    if affinity is None:
        try:
            affinity = os.sched_getaffinity(0)
        except (AttributeError, OSError):  # pragma: no cover - not Linux
            affinity = set(range(os.cpu_count() or 1))
    n = max(1, len(affinity))
    limit = cgroup_cpu_limit(root, proc_cgroup)
    if limit is not None:
        n = min(n, max(1, math.ceil(limit - 1e-9)))
    return n
