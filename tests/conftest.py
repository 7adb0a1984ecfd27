"""Shared helpers: run the real ctprof CLI and read what it wrote."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import zlib

import pytest

IN_CI = os.environ.get("CI") == "true"


def ctprof(*args: str, check: bool = False, timeout: float = 120, **kwargs):
    """Run ``python -m ctprof ARGS`` and return the CompletedProcess."""
    proc = subprocess.run(
        [sys.executable, "-m", "ctprof", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"ctprof {' '.join(args)} exited {proc.returncode}\n"
            f"stdout: {proc.stdout}\nstderr: {proc.stderr}"
        )
    return proc


def read_samples(run_dir) -> list[dict]:
    from ctprof.store import iter_samples

    return list(iter_samples(str(run_dir)))


def read_samples_text(run_dir) -> bytes:
    """Return the JSON lines of samples.jsonl.gz as written so far, including
    a partial last line when the profiler was killed mid-write."""
    from ctprof.store import SAMPLES

    with open(os.path.join(run_dir, SAMPLES), "rb") as f:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(f.read())


def read_json(path) -> dict:
    with open(path) as f:
        return json.load(f)


def needs_root() -> None:
    """Skip when not root, except in CI where root is required."""
    if os.geteuid() != 0:
        if IN_CI:
            raise AssertionError("CI must run the tests as root")
        pytest.skip("needs root to create cgroups")


WORKLOADS = os.path.join(os.path.dirname(__file__), "workloads")


def kill_orphans(run_dir) -> None:
    """Kill what a killed profiler left in its run's cgroup, and remove it."""
    dirs = read_json(run_dir / "meta.json")["target"]["cgroup_dirs"]
    created = {key: path for key, path in dirs.items() if key != "cpuset"}
    for path in created.values():
        try:
            with open(os.path.join(path, "cgroup.procs")) as f:
                for pid in f.read().split():
                    os.kill(int(pid), signal.SIGKILL)
        except (FileNotFoundError, ProcessLookupError):
            pass
    time.sleep(0.2)
    for path in created.values():
        if os.path.isdir(path):
            os.rmdir(path)


@pytest.fixture(params=["native", "python"])
def process_reader(request, monkeypatch) -> str:
    """Make ProcessCollectors built in the test use the C or the Python reader.

    The C variant is skipped when ctprof._procread is not built, and
    test_procread.py then fails.
    """
    if request.param == "native":
        if importlib.util.find_spec("ctprof._procread") is None:
            pytest.skip("ctprof._procread is not built")
        monkeypatch.setenv("CTPROF_NATIVE", "1")
    else:
        monkeypatch.setenv("CTPROF_NATIVE", "0")
    return request.param
