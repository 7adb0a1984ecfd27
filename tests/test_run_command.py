"""``ctprof run`` end to end against the real kernel, cgroups and stress-ng."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from ctprof import catalog

from conftest import (
    WORKLOADS,
    ctprof,
    kill_orphans,
    needs_root,
    read_json,
    read_samples,
    read_samples_text,
)

pytestmark = pytest.mark.slow


def _wrapped(tmp_path, *command: str) -> tuple[list[str], str]:
    truth = str(tmp_path / "rusage.json")
    wrapper = os.path.join(WORKLOADS, "rusage_wrapper.py")
    return [sys.executable, wrapper, truth, "--", *command], truth


def _container_values(samples, name):
    return [s["container"].get(name) for s in samples if "container" in s]


def test_stress_ng_cpu_and_memory_match_ground_truth(tmp_path):
    needs_root()
    if shutil.which("stress-ng") is None:
        pytest.fail("stress-ng is missing; scripts/setup.sh installs it")
    run_dir = tmp_path / "run"
    argv, truth_path = _wrapped(
        tmp_path,
        "stress-ng",
        "--cpu",
        "1",
        "--vm",
        "1",
        "--vm-bytes",
        "128M",
        "--vm-keep",
        "--timeout",
        "5s",
    )
    proc = ctprof("run", "-i", "0.2", "-o", str(run_dir), "--", *argv)
    assert proc.returncode == 0, proc.stderr
    truth = read_json(truth_path)
    summary = read_json(run_dir / "summary.json")
    samples = read_samples(run_dir)

    expected_cpu = truth["user_seconds"] + truth["system_seconds"]
    measured_cpu = summary["container"]["cpu_seconds"]
    assert measured_cpu == pytest.approx(expected_cpu, rel=0.03)
    user_plus_system = (
        summary["container"]["cpu_user_seconds"]
        + summary["container"]["cpu_system_seconds"]
    )
    # cpuacct.usage_user and usage_sys count timer ticks (100-1000 Hz) that
    # land in each mode, unlike the exact total, so their sum drifts by a
    # few percent on a busy host.
    assert user_plus_system == pytest.approx(expected_cpu, rel=0.10)

    touched = 128 * 1024 * 1024
    assert summary["container"]["memory_peak_bytes"] >= touched

    assert len(samples) >= 20
    for level in ("host", "container", "processes"):
        assert all(level in s for s in samples), level
    kinds = [s["kind"] for s in samples]
    assert kinds[0] == "start"
    assert kinds[-1] == "end"
    names = {row[2] for s in samples for row in s["processes"]}
    assert any(name.startswith("stress-ng") for name in names)


def test_time_series_follows_drift_free_schedule(tmp_path):
    needs_root()
    run_dir = tmp_path / "run"
    proc = ctprof("run", "-i", "0.1", "-o", str(run_dir), "--", "sleep", "2")
    assert proc.returncode == 0, proc.stderr
    samples = read_samples(run_dir)
    series = [s for s in samples if s["kind"] == "sample"]
    t0 = samples[0]["mono"]
    meta = read_json(run_dir / "meta.json")
    # Every sample sits at or after its deadline t0 + k*interval, never
    # drifting a whole interval, and deadlines are not taken twice.
    ks = [round((s["mono"] - t0 - s["lag"]) / 0.1) for s in series]
    assert ks == sorted(set(ks))
    assert len(series) + meta["missed_deadlines"] >= 18
    assert all(s["lag"] >= 0 for s in series)


def test_short_lived_children_are_counted(tmp_path):
    needs_root()
    run_dir = tmp_path / "run"
    argv, truth_path = _wrapped(
        tmp_path,
        sys.executable,
        os.path.join(WORKLOADS, "fork_children.py"),
        "200",
        "10",
    )
    proc = ctprof("run", "-i", "1", "-o", str(run_dir), "--", *argv)
    assert proc.returncode == 0, proc.stderr
    truth = read_json(truth_path)
    summary = read_json(run_dir / "summary.json")
    expected = truth["user_seconds"] + truth["system_seconds"]
    assert expected > 1.5  # 200 children x 10 ms, plus interpreter start-up
    assert summary["container"]["cpu_seconds"] == pytest.approx(expected, rel=0.03)


def test_memory_peak_covers_touched_pages(tmp_path):
    needs_root()
    run_dir = tmp_path / "run"
    workload = os.path.join(WORKLOADS, "touch_memory.py")
    proc = ctprof(
        "run", "-o", str(run_dir), "--", sys.executable, workload, "64", "0.3"
    )
    assert proc.returncode == 0, proc.stderr
    summary = read_json(run_dir / "summary.json")
    assert summary["container"]["memory_peak_bytes"] >= 64 * 1024 * 1024
    samples = read_samples(run_dir)
    assert [s["kind"] for s in samples] == ["start", "end"]  # delta mode


def test_fsynced_writes_and_uncached_reads_are_counted(tmp_path):
    needs_root()
    run_dir = tmp_path / "run"
    data = tmp_path / "data.bin"
    script = (
        "import os, subprocess, sys\n"
        f"subprocess.run(['dd', 'if=/dev/zero', 'of={data}', 'bs=1M', 'count=8',"
        " 'conv=fsync', 'status=none'], check=True)\n"
        f"fd = os.open('{data}', os.O_RDONLY)\n"
        "os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)\n"
        "while os.read(fd, 1 << 20):\n    pass\n"
    )
    proc = ctprof("run", "-o", str(run_dir), "--", sys.executable, "-c", script)
    assert proc.returncode == 0, proc.stderr
    container = read_json(run_dir / "summary.json")["container"]
    size = 8 * 1024 * 1024
    assert container["io_write_bytes"] >= size
    assert container["io_write_bytes"] < size * 1.5
    assert container["io_read_bytes"] >= size * 0.9


def test_exit_status_passes_through(tmp_path):
    needs_root()
    proc = ctprof("run", "-q", "-o", str(tmp_path / "a"), "--", "sh", "-c", "exit 7")
    assert proc.returncode == 7
    assert read_json(tmp_path / "a" / "summary.json")["exit_code"] == 7
    proc = ctprof(
        "run", "-q", "-o", str(tmp_path / "b"), "--", "sh", "-c", "kill -9 $$"
    )
    assert proc.returncode == 128 + 9
    assert read_json(tmp_path / "b" / "meta.json")["status"] == "complete"


def test_sigterm_is_forwarded_and_run_completed(tmp_path):
    needs_root()
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ctprof", "run", "-q", "-i", "0.1", "-o", str(run_dir)]
        + ["--", "sleep", "30"],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(1.5)
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=20)
    assert code == 128 + signal.SIGTERM
    meta = read_json(run_dir / "meta.json")
    assert meta["status"] == "complete"
    assert meta["signals_forwarded"] == ["SIGTERM"]
    assert read_samples(run_dir)[-1]["kind"] == "end"


def test_run_cgroup_is_removed(tmp_path):
    needs_root()
    run_dir = tmp_path / "run"
    ctprof("run", "-q", "-o", str(run_dir), "--", "true", check=True)
    dirs = read_json(run_dir / "meta.json")["target"]["cgroup_dirs"]
    created = {k: v for k, v in dirs.items() if k != "cpuset"}
    assert created
    for path in created.values():
        assert not os.path.exists(path), path


def test_sigkill_of_profiler_leaves_readable_run(tmp_path):
    needs_root()
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ctprof", "run", "-q", "-i", "0.05", "-o", str(run_dir)]
        + ["--", "sleep", "30"],
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    kill_orphans(run_dir)
    raw = read_samples_text(run_dir)
    lines = raw.split(b"\n")
    assert len(lines) > 10
    samples = read_samples(run_dir)
    complete_lines = raw.count(b"\n")
    assert len(samples) >= complete_lines
    assert not (run_dir / "summary.json").exists()
    report = ctprof("report", str(run_dir))
    assert report.returncode == 0, report.stderr
    assert "did not finish" in report.stdout
    assert "Container" in report.stdout


def test_process_level_reads_each_catalog_column(tmp_path):
    needs_root()
    run_dir = tmp_path / "run"
    ctprof(
        "run", "-q", "-i", "0.1", "-o", str(run_dir), "--", "sleep", "0.5", check=True
    )
    samples = read_samples(run_dir)
    rows = [r for s in samples[1:-1] for r in s["processes"]]
    assert rows
    columns = catalog.PROCESS_COLUMNS
    row = dict(zip(columns, rows[-1]))
    assert row["name"] == "sleep"
    assert row["ppid"] == os.getpid() or row["ppid"] > 0
    assert row["state"] in ("S", "R")
    assert row["resident_memory_bytes"] > 0
    assert row["rchar_bytes_total"] is not None
    news = [n for s in samples for n in s.get("new_processes", ())]
    assert any(n["cmdline"] == "sleep 0.5" for n in news)


def test_levels_select_what_is_recorded(tmp_path):
    needs_root()
    run_dir = tmp_path / "run"
    ctprof("run", "-q", "-l", "vc", "-o", str(run_dir), "--", "true", check=True)
    samples = read_samples(run_dir)
    assert all("host" in s and "container" in s for s in samples)
    assert not any("processes" in s for s in samples)
    assert read_json(run_dir / "meta.json")["levels"] == ["host", "container"]


def test_stale_run_cgroup_of_killed_profiler_is_removed(tmp_path):
    needs_root()
    from ctprof.collect import cgroupfs as cg

    own = cg.process_cgroup_dirs(cg.detect_layout())
    parent = own.get("pids") or own.get("cpuacct") or own[cg.UNIFIED]
    # pid 2**22 + 1 is above the kernel's pid_max limit, so it never runs.
    stale = os.path.join(parent, f"ctprof-{2**22 + 1}-killed")
    os.mkdir(stale)
    try:
        ctprof("run", "-q", "-o", str(tmp_path / "r"), "--", "true", check=True)
        assert not os.path.exists(stale)
    finally:
        if os.path.exists(stale):
            os.rmdir(stale)
