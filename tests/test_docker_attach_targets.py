"""ctprof attach by pid and by cgroup path, Ctrl-C, and signals under docker-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

import dockertest
from dockertest import (
    BURN,
    Recorder,
    cgroup_file,
    cpu_usage_reader,
    docker_run_args,
    interpolate,
)

from conftest import ctprof, read_json, read_samples

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture
def engine():
    yield from dockertest.labelled_engine()


def _check_cpu(run_dir, points) -> tuple[float, float]:
    samples = read_samples(run_dir)
    t_start, t_end = samples[0]["t"], samples[-1]["t"]
    reference = interpolate(points, t_end) - interpolate(points, t_start)
    measured = read_json(run_dir / "summary.json")["container"]["cpu_seconds"]
    assert reference > 0.2
    assert abs(measured - reference) / reference < 0.03
    return measured, reference


def test_attach_by_pid_and_by_cgroup_path(engine, tmp_path):
    client, token = engine
    container = dockertest.start(client, token, BURN)
    pid = dockertest.wait_running(container)
    read_cgroup = cpu_usage_reader(pid)
    cgroup_dir = os.path.dirname(
        cgroup_file(pid, "cpuacct", "cpuacct.usage", "cpu.stat")
    )
    with Recorder(lambda: (time.time(), read_cgroup()), 0.01) as direct:
        by_pid = tmp_path / "pid"
        proc = ctprof("attach", str(pid), "--duration", "1.5", "-o", str(by_pid))
        assert proc.returncode == 0, proc.stderr
        by_path = tmp_path / "path"
        proc = ctprof("attach", cgroup_dir, "--duration", "1.5", "-o", str(by_path))
        assert proc.returncode == 0, proc.stderr
    for run_dir in (by_pid, by_path):
        measured, reference = _check_cpu(run_dir, direct.points)
        print(f"{run_dir.name}: ctprof {measured:.4f} s, cgroup {reference:.4f} s")
    pid_meta = read_json(by_pid / "meta.json")
    path_meta = read_json(by_path / "meta.json")
    assert pid_meta["target"]["kind"] == "pid"
    assert path_meta["target"]["kind"] == "cgroup"
    assert pid_meta["target"]["cgroup_dirs"] == path_meta["target"]["cgroup_dirs"]
    assert cgroup_dir in path_meta["target"]["cgroup_dirs"].values()


def test_attach_interrupted_keeps_complete_run(engine, tmp_path):
    client, token = engine
    container = dockertest.start(client, token, "sleep 60")
    dockertest.wait_running(container)
    run_dir = tmp_path / "run"
    profiler = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ctprof",
            "attach",
            container.name,
            "-i",
            "0.1",
            "-o",
            str(run_dir),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2)
    profiler.send_signal(signal.SIGINT)
    _, stderr = profiler.communicate(timeout=30)
    assert profiler.returncode == 0, stderr

    meta = read_json(run_dir / "meta.json")
    kinds = [s["kind"] for s in read_samples(run_dir)]
    assert meta["status"] == "complete"
    assert meta["ended_by"] == "interrupted"
    assert kinds[0] == "start"
    assert kinds[-1] == "end"
    assert (run_dir / "summary.json").exists()
    # The attached container is left running.
    container.reload()
    assert container.status == "running"


def test_docker_run_forwards_sigterm(engine, tmp_path):
    _, token = engine
    run_dir = tmp_path / "run"
    profiler = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ctprof",
            *docker_run_args(
                run_dir,
                token,
                [
                    "sh",
                    "-c",
                    "trap 'exit 143' TERM; echo ready; while :; do sleep 0.1; done",
                ],
            ),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert profiler.stdout.readline().strip() == "ready"
    profiler.send_signal(signal.SIGTERM)
    _, stderr = profiler.communicate(timeout=30)
    assert profiler.returncode == 143, stderr

    meta = read_json(run_dir / "meta.json")
    assert meta["signals_forwarded"] == ["SIGTERM"]
    assert meta["status"] == "complete"


def test_docker_run_third_sigint_kills(engine, tmp_path):
    _, token = engine
    run_dir = tmp_path / "run"
    profiler = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ctprof",
            *docker_run_args(
                run_dir,
                token,
                ["sh", "-c", "trap '' INT; echo ready; while :; do sleep 0.1; done"],
            ),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert profiler.stdout.readline().strip() == "ready"
    for _ in range(3):
        profiler.send_signal(signal.SIGINT)
        time.sleep(0.3)
    _, stderr = profiler.communicate(timeout=30)
    assert profiler.returncode == 137, stderr

    meta = read_json(run_dir / "meta.json")
    assert meta["signals_forwarded"] == ["SIGINT", "SIGINT", "SIGKILL"]
    assert meta["status"] == "complete"
