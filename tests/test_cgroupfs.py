"""cgroup layout detection and readers, on fixture trees in the kernel's
documented formats (Documentation/admin-guide/cgroup-v1 and cgroup-v2.rst)."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ctprof import catalog
from ctprof.collect import cgroupfs as cg
from ctprof.collect.cgroup_reader import CgroupReader
from ctprof.collectors import ContainerCollector
from ctprof.errors import ParseError

MOUNTINFO_HYBRID = b"""31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 23 0:40 / /proc rw - proc proc rw
"""

MOUNTINFO_V2 = (
    b"30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4"
    b" - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"
)

# Inside a container without a cgroup namespace: the container's subtree is
# bind-mounted, so the mount root is the container's own path.
MOUNTINFO_CONTAINER_V1 = b"700 690 0:29 /docker/abc /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory\n"

PROC_CGROUP_HYBRID = b"""9:name=systemd:/
8:pids:/user.slice
4:memory:/user.slice/job
2:cpu,cpuacct:/user.slice
0::/user.slice/job
"""


def test_hybrid_layout_detected_with_co_mounted_controllers():
    layout = cg.parse_mountinfo(MOUNTINFO_HYBRID)
    assert layout.kind == cg.HYBRID
    assert layout.v1_mount("cpuacct").mountpoint == "/sys/fs/cgroup/cpu,cpuacct"
    assert layout.v1_mount("cpu") is layout.v1_mount("cpuacct")
    assert layout.v2_mount().mountpoint == "/sys/fs/cgroup/unified"
    assert layout.v1_mount("cpuset") is None


def test_pure_v2_layout_detected():
    layout = cg.parse_mountinfo(MOUNTINFO_V2)
    assert layout.kind == cg.V2
    assert layout.v1_mount("memory") is None


def test_no_cgroup_mounts():
    layout = cg.parse_mountinfo(b"50 23 0:40 / /proc rw - proc proc rw\n")
    assert layout.kind == cg.NONE


def test_cgroup_dirs_join_mounts_and_membership():
    layout = cg.parse_mountinfo(MOUNTINFO_HYBRID)
    membership = cg.parse_proc_cgroup(PROC_CGROUP_HYBRID)
    assert membership["cpuacct"] == "/user.slice"
    assert membership[cg.UNIFIED] == "/user.slice/job"
    dirs = cg.cgroup_dirs(layout, membership)
    assert dirs["memory"] == "/sys/fs/cgroup/memory/user.slice/job"
    assert dirs["cpuacct"] == "/sys/fs/cgroup/cpu,cpuacct/user.slice"
    assert dirs[cg.UNIFIED] == "/sys/fs/cgroup/unified/user.slice/job"
    assert "blkio" not in dirs  # not listed in /proc/PID/cgroup


def test_bind_mounted_subtree_maps_to_mountpoint():
    layout = cg.parse_mountinfo(MOUNTINFO_CONTAINER_V1)
    dirs = cg.cgroup_dirs(layout, {"memory": "/docker/abc"})
    assert dirs == {"memory": "/sys/fs/cgroup/memory"}
    assert cg.cgroup_dirs(layout, {"memory": "/other"}) == {}


def test_mountinfo_unescapes_octal():
    line = b"1 2 0:3 / /sys/fs/my\\040cgroup rw - cgroup2 cgroup2 rw\n"
    assert cg.parse_mountinfo(line).mounts[0].mountpoint == "/sys/fs/my cgroup"


def test_live_layout_matches_this_host():
    layout = cg.detect_layout()
    dirs = cg.process_cgroup_dirs(layout)
    assert layout.kind in (cg.V1, cg.V2, cg.HYBRID)
    for path in dirs.values():
        assert os.path.isdir(path), path


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"max\n", None),
        (b"-1\n", None),
        (b"9223372036854771712\n", None),
        (b"42\n", 42),
    ],
)
def test_int_or_max(data, expected):
    assert cg.parse_int_or_max(data, "f") == expected


def test_cpu_list_and_cpu_max():
    assert cg.parse_cpu_list(b"0-3,8,10-11\n", "f") == 7
    assert cg.parse_cpu_list(b"\n", "f") == 0
    assert cg.parse_cpu_max(b"max 100000\n", "f") == (None, 100000)
    assert cg.parse_cpu_max(b"50000 100000\n", "f") == (50000, 100000)


def test_blkio_v1_and_io_stat_v2():
    blkio = cg.parse_blkio_v1(
        b"8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Total 12288\nTotal 12288\n",
        "f",
    )
    assert blkio == {"8:0": {"Read": 4096, "Write": 8192, "Sync": 0, "Total": 12288}}
    io = cg.parse_io_stat_v2(
        b"8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0\n", "f"
    )
    assert io["8:16"]["wbytes"] == 314773504


def _write_tree(root, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


V2_FILES = {
    "cgroup.controllers": "cpuset cpu io memory pids\n",
    "cgroup.procs": "101\n102\n",
    "child/cgroup.procs": "103\n",
    "cpu.stat": (
        "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n"
        "nr_periods 40\nnr_throttled 10\nthrottled_usec 750000\n"
        "nr_bursts 0\nburst_usec 0\n"
    ),
    "cpu.max": "50000 100000\n",
    "cpuset.cpus.effective": "0-1\n",
    "memory.current": "104857600\n",
    "memory.peak": "209715200\n",
    "memory.max": "268435456\n",
    "memory.swap.current": "0\n",
    "memory.stat": (
        "anon 73400320\nfile 31457280\nkernel 1048576\ninactive_file 20971520\n"
        "active_file 10485760\npgfault 5000\npgmajfault 7\n"
    ),
    "memory.events": "low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 0\n",
    "io.stat": (
        "8:0 rbytes=1048576 wbytes=4194304 rios=10 wios=20 dbytes=0 dios=0\n"
        "8:16 rbytes=1024 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n"
    ),
    "pids.current": "3\n",
    "pids.max": "max\n",
    "cpu.pressure": "some avg10=0.00 avg60=0.00 avg300=0.00 total=1500\n"
    "full avg10=0.00 avg60=0.00 avg300=0.00 total=500\n",
    "memory.pressure": "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
    "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
    "io.pressure": "some avg10=0.00 avg60=0.00 avg300=0.00 total=2000000\n"
    "full avg10=0.00 avg60=0.00 avg300=0.00 total=1000000\n",
}


def test_pure_v2_tree_gives_container_metrics_in_base_units(tmp_path):
    _write_tree(tmp_path, V2_FILES)
    reader = CgroupReader({cg.UNIFIED: str(tmp_path)})
    collector = ContainerCollector(reader, proc_root=str(tmp_path / "noproc"))
    out = collector.collect(netns_pid=None)

    def value(name):
        catalog.get(catalog.CONTAINER, name)
        return out[name]

    assert value("cpu_usage_seconds_total") == pytest.approx(2.5)
    assert value("cpu_user_seconds_total") == pytest.approx(2.0)
    assert value("cpu_system_seconds_total") == pytest.approx(0.5)
    assert value("cpu_throttled_periods_total") == 10
    assert value("cpu_throttled_seconds_total") == pytest.approx(0.75)
    assert value("cpu_quota_seconds") == pytest.approx(0.05)
    assert value("cpu_period_seconds") == pytest.approx(0.1)
    assert value("cpuset_cpus") == 2
    assert value("memory_usage_bytes") == 104857600
    assert value("memory_working_set_bytes") == 104857600 - 20971520
    assert value("memory_peak_bytes") == 209715200
    assert value("memory_limit_bytes") == 268435456
    assert value("memory_rss_bytes") == 73400320
    assert value("memory_cache_bytes") == 31457280
    assert value("memory_oom_events_total") == 2
    assert value("memory_oom_kills_total") == 1
    assert value("io_read_bytes_total") == 1048576 + 1024
    assert value("io_write_bytes_total") == 4194304
    assert out["io"]["8:0"]["io_device_writes_total"] == 20
    assert value("pids_current") == 3
    assert "pids_limit" not in out  # "max": no limit
    assert value("processes") == 3  # the cgroup and its child
    assert value("pressure_io_some_seconds_total") == pytest.approx(2.0)
    assert value("pressure_cpu_full_seconds_total") == pytest.approx(0.0005)
    assert "cpu" not in out  # v2 has no per-CPU usage
    reason = collector.unavailable["cpu_usage_per_cpu_seconds_total"]
    assert "v1" in reason


def test_v2_without_controllers_reports_reasons(tmp_path):
    files = {
        "cgroup.controllers": "\n",
        "cgroup.procs": "\n",
        "cpu.stat": "usage_usec 100\nuser_usec 60\nsystem_usec 40\n",
    }
    _write_tree(tmp_path, files)
    reader = CgroupReader({cg.UNIFIED: str(tmp_path)})
    collector = ContainerCollector(reader, proc_root=str(tmp_path))
    out = collector.collect(netns_pid=None)
    assert out["cpu_usage_seconds_total"] == pytest.approx(0.0001)
    for name in ("memory_usage_bytes", "cpu_throttled_periods_total", "pids_current"):
        assert name not in out
        assert "controller" in collector.unavailable[name]
    assert "pressure_cpu_some_seconds_total" in collector.unavailable


V1_FILES = {
    "cpuacct/job/cpuacct.usage": "3000000000\n",
    "cpuacct/job/cpuacct.usage_user": "2000000000\n",
    "cpuacct/job/cpuacct.usage_sys": "1000000000\n",
    "cpuacct/job/cpuacct.usage_percpu": "1000000000 2000000000\n",
    "cpuacct/job/cgroup.procs": "7\n",
    "cpu/job/cpu.stat": "nr_periods 5\nnr_throttled 2\nthrottled_time 300000000\n",
    "cpu/job/cpu.cfs_quota_us": "-1\n",
    "cpu/job/cpu.cfs_period_us": "100000\n",
    "memory/job/memory.usage_in_bytes": "50000000\n",
    "memory/job/memory.max_usage_in_bytes": "60000000\n",
    "memory/job/memory.limit_in_bytes": "9223372036854771712\n",
    "memory/job/memory.stat": (
        "cache 100\nrss 200\ntotal_cache 10000000\ntotal_rss 30000000\n"
        "total_swap 0\ntotal_inactive_file 4000000\ntotal_pgfault 900\n"
        "total_pgmajfault 3\n"
    ),
    "memory/job/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 4\n",
    "pids/job/pids.current": "5\n",
    "pids/job/pids.max": "100\n",
}


def test_v1_tree_gives_container_metrics(tmp_path):
    _write_tree(tmp_path, V1_FILES)
    dirs = {c: str(tmp_path / c / "job") for c in ("cpuacct", "cpu", "memory", "pids")}
    collector = ContainerCollector(CgroupReader(dirs), proc_root=str(tmp_path))
    out = collector.collect(netns_pid=None)
    assert out["cpu_usage_seconds_total"] == pytest.approx(3.0)
    assert out["cpu"]["1"]["cpu_usage_per_cpu_seconds_total"] == pytest.approx(2.0)
    assert out["cpu_throttled_seconds_total"] == pytest.approx(0.3)
    assert "cpu_quota_seconds" not in out  # -1: no quota
    assert out["memory_working_set_bytes"] == 46000000
    assert out["memory_peak_bytes"] == 60000000
    assert "memory_limit_bytes" not in out  # unlimited
    assert out["memory_oom_kills_total"] == 4
    assert out["pids_limit"] == 100
    assert "memory_oom_events_total" in collector.unavailable


_CG_PARSERS = [
    lambda d: cg.parse_mountinfo(d, "m"),
    lambda d: cg.parse_proc_cgroup(d, "c"),
    lambda d: cg.parse_int_or_max(d, "f"),
    lambda d: cg.parse_cpu_max(d, "f"),
    lambda d: cg.parse_cpu_list(d, "f"),
    lambda d: cg.parse_int_list(d, "f"),
    lambda d: cg.parse_blkio_v1(d, "f"),
    lambda d: cg.parse_io_stat_v2(d, "f"),
]
_CG_SAMPLES = [
    MOUNTINFO_HYBRID,
    MOUNTINFO_V2,
    PROC_CGROUP_HYBRID,
    b"50000 100000\n",
    b"0-3,8\n",
    b"8:0 Read 4096\nTotal 1\n",
    V2_FILES["io.stat"].encode(),
    V2_FILES["cpu.stat"].encode(),
]


@st.composite
def _mangled(draw):
    if draw(st.booleans()):
        return draw(st.binary(max_size=200))
    base = bytearray(draw(st.sampled_from(_CG_SAMPLES)))
    for _ in range(draw(st.integers(1, 5))):
        pos = draw(st.integers(0, max(len(base) - 1, 0)))
        byte = draw(st.sampled_from(b" :-,=\n/0123456789mx\xff"))
        if draw(st.booleans()) and base:
            base[pos] = byte
        else:
            base.insert(pos, byte)
    return bytes(base)


@settings(max_examples=400, deadline=None)
@given(data=_mangled(), which=st.integers(0, len(_CG_PARSERS) - 1))
def test_fuzzed_cgroup_text_raises_only_parse_error(data, which):
    try:
        _CG_PARSERS[which](data)
    except ParseError:
        pass
