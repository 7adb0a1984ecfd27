"""ctprof attach --all with three containers started at different times."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

import dockertest

from conftest import ctprof, read_json, read_samples

pytestmark = [pytest.mark.docker, pytest.mark.slow]

# Each container burns CPU in its shell, then prints the shell's
# /proc/PID/stat: fields 14-17 (proc(5)) are utime, stime, cutime and cstime
# in clock ticks, the reference for the container's CPU time.
BURN_THEN_STAT = (
    "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; "
    'echo "STAT $(cat /proc/$$/stat)"'
)
TICKS = os.sysconf("SC_CLK_TCK")


@pytest.fixture
def engine():
    yield from dockertest.labelled_engine()


def _stat_cpu(container) -> float:
    for line in container.logs().decode().splitlines():
        if line.startswith("STAT "):
            fields = line[5:].rsplit(")", 1)[1].split()
            # fields[0] is field 3 (state), so field N is fields[N - 3].
            return sum(int(fields[n - 3]) for n in (14, 15, 16, 17)) / TICKS
    raise AssertionError(f"no STAT line in the output of {container.name}")


def _wait_listed(run_dir, container_id: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            meta = read_json(run_dir / "meta.json")
        except (OSError, json.JSONDecodeError):
            meta = {}
        if any(e["id"] == container_id for e in meta.get("containers", ())):
            return
        time.sleep(0.1)
    raise AssertionError(f"attach --all did not pick up {container_id[:12]}")


def test_attach_all_three_containers(engine, tmp_path):
    client, token = engine
    run_dir = tmp_path / "all"
    first = dockertest.start(client, token, f"sleep 3; {BURN_THEN_STAT}; sleep 30")
    dockertest.wait_running(first)
    profiler = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ctprof",
            "attach",
            "--all",
            "-i",
            "0.2",
            "--duration",
            "6",
            "-o",
            str(run_dir),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_listed(run_dir, first.id)
        second = dockertest.start(
            client, token, f"sleep 0.5; {BURN_THEN_STAT}; sleep 30"
        )
        time.sleep(1)
        third = dockertest.start(client, token, f"{BURN_THEN_STAT}; exit 4")
        _, stderr = profiler.communicate(timeout=60)
    finally:
        profiler.kill()
    assert profiler.returncode == 0, stderr

    top = read_json(run_dir / "meta.json")
    assert top["kind"] == "all-containers"
    host_samples = read_samples(run_dir)
    assert host_samples[0]["kind"] == "start"
    assert host_samples[-1]["kind"] == "end"
    assert all("cpu_user_seconds_total" in s["host"] for s in host_samples)
    entries = {e["id"]: e for e in top["containers"]}
    expected = {
        first.id: (False, "duration", None),
        second.id: (True, "duration", None),
        third.id: (True, "target-exited", 4),
    }
    for container in (first, second, third):
        entry = entries[container.id]
        from_zero, ended_by, exit_code = expected[container.id]
        sub = run_dir / entry["directory"]
        meta = read_json(sub / "meta.json")
        summary = read_json(sub / "summary.json")
        kinds = [s["kind"] for s in read_samples(sub)]
        measured = summary["container"]["cpu_seconds"]
        reference = _stat_cpu(container)
        print(
            f"{entry['name']}: ctprof CPU {measured:.3f} s, shell's own "
            f"{reference:.3f} s, ended by {entry['ended_by']}"
        )
        assert meta["status"] == "complete"
        assert kinds[0] == "start"
        assert kinds[-1] == "end"
        assert meta["target"]["counters_start_at_zero"] is from_zero
        assert entry["ended_by"] == ended_by
        assert entry["exit_code"] == exit_code
        # Ticks are 10 ms; a fresh container also counts the runtime's setup.
        assert abs(measured - reference) <= 0.04 + 0.05 * reference

    report = ctprof("report", str(run_dir))
    assert report.returncode == 0, report.stderr
    for container in (first, second, third):
        assert container.name in report.stdout
