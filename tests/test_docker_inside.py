"""ctprof run inside a container profiles that container's own cgroup.

The interpreter, the virtual environment and the ctprof sources are
bind-mounted read-only into a busybox container at their host paths, with
the C libraries the interpreter links against.
"""

from __future__ import annotations

import os
import sys
import time

import pytest

import ctprof as ctprof_package
import dockertest
from dockertest import cpu_usage_reader

from conftest import read_json, read_samples

pytestmark = [pytest.mark.docker, pytest.mark.slow]

MIB = 1024 * 1024
HOST_LIBRARIES = ("/lib64", "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu")
WORKLOAD = "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"


@pytest.fixture
def engine():
    yield from dockertest.labelled_engine()


def _read_only_mounts() -> list[str]:
    sources = os.path.dirname(os.path.dirname(ctprof_package.__file__))
    paths = [sys.base_prefix, sys.prefix, sources, "/etc/ld.so.cache"]
    paths += [p for p in HOST_LIBRARIES if os.path.exists(p)]
    # Symbolic links (/lib64 -> usr/lib64 on merged-/usr systems) are
    # resolved on the host side and mounted at the path the loader expects.
    return [f"{os.path.realpath(p)}:{p}:ro" for p in paths]


def _wait_for(path, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.1)
    raise AssertionError(f"{path} was not written within {timeout} s")


def test_run_inside_container_profiles_it(engine, tmp_path):
    client, token = engine
    out = tmp_path / "out"
    out.mkdir()
    volumes = _read_only_mounts()
    volumes.append(f"{out}:/out:rw")
    python = os.path.join(sys.prefix, "bin", "python")
    script = (
        f"{python} -m ctprof run -o /out/run -- sh -c '{WORKLOAD}' "
        "2>/out/stderr; echo $? >/out/rc; sleep 60"
    )
    container = dockertest.start(
        client,
        token,
        script,
        volumes=volumes,
        mem_limit="256m",
        environment={"PYTHONDONTWRITEBYTECODE": "1"},
    )
    pid = dockertest.wait_running(container)
    assert _wait_for(out / "rc") == "0", (out / "stderr").read_text()
    # The container now only sleeps: its cgroup's counter, read from the
    # host, is the reference for the end sample taken inside.
    host_cpu = cpu_usage_reader(pid)()
    stderr = (out / "stderr").read_text()
    meta = read_json(out / "run" / "meta.json")
    summary = read_json(out / "run" / "summary.json")
    end = read_samples(out / "run")[-1]
    inside_cpu = end["container"]["cpu_usage_seconds_total"]
    delta = summary["container"]["cpu_seconds"]
    rusage = meta["command_rusage"]
    command_cpu = rusage["user_seconds"] + rusage["system_seconds"]

    print(
        f"end sample {inside_cpu:.4f} s, host read {host_cpu:.4f} s; "
        f"run delta {delta:.4f} s, command rusage {command_cpu:.4f} s"
    )
    assert stderr.count("profiling the container's own cgroup") == 1
    assert meta["target"]["kind"] == "own-cgroup"
    assert meta["target"]["container_evidence"]
    assert summary["metrics"]["container.memory_limit_bytes"]["max"] == 256 * MIB
    # Only ctprof's exit and the shell's echo ran between the two readings.
    assert inside_cpu <= host_cpu
    assert host_cpu - inside_cpu <= 0.1
    # The container's counter covers the command plus ctprof's own samples.
    assert command_cpu > 0.2
    assert command_cpu <= delta <= 1.1 * command_cpu + 0.05
