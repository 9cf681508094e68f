"""--workers 0: the CPUs the process may use (affinity and cgroup v1/v2 quota), from fake cgroup files."""

from __future__ import annotations

from pathlib import Path

from icap_dlp.config import load_settings
from icap_dlp.cpus import cgroup_cpu_limit, usable_cpus


def v2(tmp_path: Path, files: dict[str, str], membership: str = "0::/\n") -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    proc = tmp_path / "proc-self-cgroup"
    proc.write_text(membership)
    return root, proc


def test_v2_pod_limited_to_two_cpus_on_a_big_node(tmp_path: Path) -> None:
    root, proc = v2(tmp_path, {"cpu.max": "200000 100000\n"})
    assert cgroup_cpu_limit(root, proc) == 2.0
    assert usable_cpus(root, proc, affinity=set(range(64))) == 2


def test_v2_fractional_quota_rounds_up_and_unlimited_falls_back_to_affinity(tmp_path: Path) -> None:
    root, proc = v2(tmp_path, {"cpu.max": "150000 100000\n"})
    assert usable_cpus(root, proc, affinity=set(range(8))) == 2
    (root / "cpu.max").write_text("50000 100000\n")
    assert usable_cpus(root, proc, affinity=set(range(8))) == 1  # half a CPU: still one worker
    (root / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_limit(root, proc) is None
    assert usable_cpus(root, proc, affinity={0, 1, 2}) == 3


def test_v2_nested_group_the_tightest_ancestor_wins(tmp_path: Path) -> None:
    root, proc = v2(tmp_path, {
        "kubepods.slice/cpu.max": "300000 100000\n",
        "kubepods.slice/pod1/cpu.max": "max 100000\n",
        "kubepods.slice/pod1/ctr/cpu.max": "400000 100000\n",
    }, membership="0::/kubepods.slice/pod1/ctr\n")
    assert cgroup_cpu_limit(root, proc) == 3.0
    assert usable_cpus(root, proc, affinity=set(range(16))) == 3


def test_affinity_smaller_than_quota(tmp_path: Path) -> None:
    root, proc = v2(tmp_path, {"cpu.max": "800000 100000\n"})
    assert usable_cpus(root, proc, affinity={2, 3}) == 2


def test_v1_cfs_quota(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    grp = root / "cpu,cpuacct" / "docker" / "abc"
    grp.mkdir(parents=True)
    (grp / "cpu.cfs_quota_us").write_text("250000\n")
    (grp / "cpu.cfs_period_us").write_text("100000\n")
    proc = tmp_path / "proc-self-cgroup"
    proc.write_text("12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n")
    assert cgroup_cpu_limit(root, proc) == 2.5
    assert usable_cpus(root, proc, affinity=set(range(32))) == 3
    (grp / "cpu.cfs_quota_us").write_text("-1\n")
    assert usable_cpus(root, proc, affinity=set(range(4))) == 4


def test_no_cgroup_files_at_all(tmp_path: Path) -> None:
    assert cgroup_cpu_limit(tmp_path / "none", tmp_path / "none-cgroup") is None
    assert usable_cpus(tmp_path / "none", tmp_path / "none-cgroup", affinity={0}) == 1


def test_worker_count_uses_it() -> None:
    assert load_settings({"workers": 3}, env={}).worker_count == 3
    assert load_settings({}, env={}).worker_count == usable_cpus()
