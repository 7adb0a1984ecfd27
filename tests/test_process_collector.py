"""ProcessCollector on a /proc tree built from proc(5) formats."""

from __future__ import annotations

import os

import pytest

from ctprof import catalog
from ctprof.collectors import CLOCK_TICKS, PAGE_SIZE
from ctprof.process_collector import ProcessCollector

# Every test runs with the C reader (ctprof._procread) and the Python reader.
pytestmark = pytest.mark.usefixtures("process_reader")

BOOT = 1_700_000_000


def _stat(pid: int, comm: str, utime: int, threads: int = 1, rss: int = 100) -> str:
    # Fields 1-44 of proc(5): pid (comm) state ppid ... in kernel order.
    fields = [str(pid), f"({comm})", "S", "1"] + ["0"] * 40
    fields[9] = "11"  # minflt
    fields[11] = "2"  # majflt
    fields[13] = str(utime)
    fields[14] = "5"  # stime
    fields[15] = "7"  # cutime
    fields[16] = "8"  # cstime
    fields[19] = str(threads)
    fields[21] = "250"  # starttime, clock ticks after boot
    fields[22] = "4096000"  # vsize, bytes
    fields[23] = str(rss)  # pages
    fields[41] = "3"  # delayacct_blkio_ticks
    return " ".join(fields) + "\n"


def _status(hwm_kib: int, voluntary: int) -> str:
    return (
        "Name:\tworker\nState:\tS (sleeping)\n"
        f"VmHWM:\t    {hwm_kib} kB\nVmRSS:\t     400 kB\n"
        f"voluntary_ctxt_switches:\t{voluntary}\n"
        "nonvoluntary_ctxt_switches:\t4\n"
    )


_IO = (
    "rchar: 100\nwchar: 200\nsyscr: 3\nsyscw: 4\nread_bytes: 4096\n"
    "write_bytes: 8192\ncancelled_write_bytes: 0\n"
)


def _write_process(root, pid, *, utime=10, threads=1, hwm=500, voluntary=6, run=1):
    directory = root / str(pid)
    directory.mkdir(exist_ok=True)
    (directory / "stat").write_text(_stat(pid, "my worker", utime, threads))
    (directory / "status").write_text(_status(hwm, voluntary))
    (directory / "io").write_text(_IO)
    (directory / "schedstat").write_text(f"{run * 1000} 0 {run}\n")
    (directory / "cmdline").write_bytes(b"worker\0--flag\0")


def _collector(root) -> ProcessCollector:
    (root / "stat").write_text(f"cpu 1 2 3 4\nbtime {BOOT}\n")
    return ProcessCollector(str(root))


def _row(rows, pid) -> dict:
    found = [r for r in rows if r[0] == pid]
    assert len(found) == 1
    return dict(zip(catalog.PROCESS_COLUMNS, found[0]))


def test_row_follows_catalog_columns(tmp_path):
    _write_process(tmp_path, 42)
    rows, new = _collector(tmp_path).collect([42])
    row = _row(rows, 42)
    assert row["name"] == "my worker"
    assert row["start_time_seconds"] == round(BOOT + 250 / CLOCK_TICKS, 2)
    assert row["ppid"] == 1
    assert row["state"] == "S"
    assert row["threads"] == 1
    assert row["cpu_user_seconds_total"] == 10 / CLOCK_TICKS
    assert row["cpu_system_seconds_total"] == 5 / CLOCK_TICKS
    assert row["cpu_children_user_seconds_total"] == 7 / CLOCK_TICKS
    assert row["blkio_delay_seconds_total"] == 3 / CLOCK_TICKS
    assert row["minor_faults_total"] == 11
    assert row["major_faults_total"] == 2
    assert row["virtual_memory_bytes"] == 4096000
    assert row["resident_memory_bytes"] == 100 * PAGE_SIZE
    assert row["resident_memory_peak_bytes"] == 500 * 1024
    assert row["voluntary_ctxt_switches_total"] == 6
    assert row["nonvoluntary_ctxt_switches_total"] == 4
    assert row["read_bytes_total"] == 4096
    assert row["write_bytes_total"] == 8192
    assert new == [
        {
            "pid": 42,
            "start_time_seconds": row["start_time_seconds"],
            "name": "my worker",
            "cmdline": "worker --flag",
        }
    ]


def test_idle_process_reuses_its_row(tmp_path):
    _write_process(tmp_path, 42)
    collector = _collector(tmp_path)
    first, _ = collector.collect([42])
    # status changes but schedstat and stat do not: the process has not run,
    # so the collector keeps the previous row without reading status.
    _write_process(tmp_path, 42, voluntary=99)
    second, new = collector.collect([42])
    assert second == first
    assert new == []
    assert collector.reused == 1


def test_process_that_ran_is_read_again(tmp_path):
    _write_process(tmp_path, 42)
    collector = _collector(tmp_path)
    collector.collect([42])
    _write_process(tmp_path, 42, utime=10, voluntary=99, run=2)
    rows, _ = collector.collect([42])
    assert _row(rows, 42)["voluntary_ctxt_switches_total"] == 99
    assert collector.reused == 0


def test_changed_rss_is_read_again(tmp_path):
    _write_process(tmp_path, 42)
    collector = _collector(tmp_path)
    collector.collect([42])
    directory = tmp_path / "42"
    (directory / "stat").write_text(_stat(42, "my worker", 10, rss=50))
    rows, _ = collector.collect([42])
    assert _row(rows, 42)["resident_memory_bytes"] == 50 * PAGE_SIZE
    assert collector.reused == 0


def test_threaded_process_is_always_read(tmp_path):
    _write_process(tmp_path, 42, threads=3)
    collector = _collector(tmp_path)
    collector.collect([42])
    _write_process(tmp_path, 42, threads=3, voluntary=99)
    rows, _ = collector.collect([42])
    assert _row(rows, 42)["voluntary_ctxt_switches_total"] == 99
    assert collector.reused == 0


def test_without_reuse_every_file_is_read(tmp_path):
    _write_process(tmp_path, 42)
    collector = _collector(tmp_path)
    collector.reuse_unchanged = False
    collector.collect([42])
    _write_process(tmp_path, 42, voluntary=99)
    rows, _ = collector.collect([42])
    assert _row(rows, 42)["voluntary_ctxt_switches_total"] == 99


def test_departed_process_is_closed(tmp_path):
    _write_process(tmp_path, 42)
    _write_process(tmp_path, 43)
    collector = _collector(tmp_path)
    rows, _ = collector.collect([42, 43, 44])
    assert [r[0] for r in rows] == [42, 43]
    # 43 has left the target: its descriptors are closed. (A reaped process's
    # open /proc files fail with ESRCH, which regular files cannot imitate.)
    rows, _ = collector.collect([42])
    assert [r[0] for r in rows] == [42]
    assert sorted(collector._files) == [42]


def test_missing_schedstat_reads_in_full(tmp_path):
    _write_process(tmp_path, 42)
    os.unlink(tmp_path / "42" / "schedstat")
    collector = _collector(tmp_path)
    collector.collect([42])
    _write_process(tmp_path, 42, voluntary=99)
    os.unlink(tmp_path / "42" / "schedstat")
    rows, _ = collector.collect([42])
    assert _row(rows, 42)["voluntary_ctxt_switches_total"] == 99
    assert collector.reused == 0


def test_comm_with_parenthesis_and_spaces(tmp_path):
    _write_process(tmp_path, 42)
    (tmp_path / "42" / "stat").write_text(_stat(42, "a) (b", 10))
    rows, _ = _collector(tmp_path).collect([42])
    assert _row(rows, 42)["name"] == "a) (b"
    assert _row(rows, 42)["state"] == "S"


def test_reaped_real_process_is_skipped():
    import subprocess

    child = subprocess.Popen(["sleep", "60"])
    collector = ProcessCollector()
    try:
        rows, new = collector.collect([child.pid])
        assert [r[0] for r in rows] == [child.pid]
        assert new[0]["cmdline"] == "sleep 60"
    finally:
        child.kill()
        child.wait()
    rows, _ = collector.collect([child.pid])
    assert rows == []
    assert collector._files == {}
