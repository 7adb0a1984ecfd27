"""docker-run's end sample keeps the container's totals on a loaded host.

The runtime removes a container's cgroup right after the container exits.
Under load that can happen before ctprof's end sample, which then reads the
totals from the cgroup parent ctprof created for the container.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest

import dockertest
from dockertest import docker_run_args

from conftest import ctprof, read_json

pytestmark = [pytest.mark.docker, pytest.mark.slow]

RUNS = 5
# A loop of roughly 1.5 s of CPU in busybox sh, so that runc's few ms of
# setup in the container's cgroup stay well under 5 %. The shell then prints
# its own CPU time in ns (sum_exec_runtime, the first field of
# /proc/PID/schedstat), which the cgroup's total includes.
BURN_AND_REPORT = (
    "i=0; while [ $i -lt 900000 ]; do i=$((i+1)); done; "
    "read ns rest < /proc/$$/schedstat; echo shell_cpu_ns $ns"
)


@pytest.fixture
def engine():
    yield from dockertest.labelled_engine()


@pytest.fixture
def loaded_host():
    """Keep both CPUs busy with stress-ng for at most two minutes."""
    proc = subprocess.Popen(
        ["stress-ng", "--cpu", "2", "--timeout", "120s", "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield proc
    proc.terminate()
    proc.wait(timeout=30)


def _shell_cpu_seconds(stdout: str) -> float:
    for line in stdout.splitlines():
        if line.startswith("shell_cpu_ns "):
            return int(line.split()[1]) / 1e9
    raise AssertionError(f"the container printed no shell_cpu_ns line: {stdout!r}")


def _hierarchy_paths(cgroup_path: str) -> list[str]:
    from ctprof.collect import cgroupfs

    name = cgroup_path.strip("/")
    return [os.path.join(m, name) for m in cgroupfs.hierarchy_mountpoints()]


def test_delta_cpu_under_load_matches_shell(engine, loaded_host, tmp_path):
    client, token = engine
    results = []
    for index in range(RUNS):
        run_dir = tmp_path / f"run{index}"
        proc = ctprof(
            *docker_run_args(run_dir, token, ["sh", "-c", BURN_AND_REPORT]),
        )
        assert proc.returncode == 0, proc.stderr
        meta = read_json(run_dir / "meta.json")
        summary = read_json(run_dir / "summary.json")
        results.append(
            (
                summary["container"]["cpu_seconds"],
                _shell_cpu_seconds(proc.stdout),
                meta["target"].get("samples_read_from_cgroup_parent", 0),
                meta["target"]["cgroup_parent"],
            )
        )

    for index, (cpu, shell, parent_reads, _) in enumerate(results):
        print(
            f"run {index}: ctprof {cpu:.4f} s, shell {shell:.4f} s, "
            f"samples read from the parent: {parent_reads}"
        )
    assert loaded_host.poll() is None, "stress-ng ended before the runs did"
    for cpu, shell, _, parent in results:
        # The cgroup also counts runc's setup of the container, a few ms.
        assert cpu >= shell
        assert cpu <= 1.05 * shell
        assert parent["created_by"] == "ctprof"
        for path in _hierarchy_paths(parent["path"]):
            assert not os.path.exists(path), f"{path} was left behind"


def test_parent_removed_without_rm(engine, tmp_path):
    client, token = engine
    run_dir = tmp_path / "run"
    proc = ctprof(
        *docker_run_args(run_dir, token, ["true"], docker=()),
    )
    assert proc.returncode == 0, proc.stderr

    target = read_json(run_dir / "meta.json")["target"]
    parent = target["cgroup_parent"]
    assert parent["created_by"] == "ctprof"
    assert parent["path"].startswith("/ctprof-")
    for directory in target["cgroup_dirs"].values():
        assert os.path.basename(os.path.dirname(directory)) == parent["path"][1:]
    for path in _hierarchy_paths(parent["path"]):
        assert not os.path.exists(path), f"{path} was left behind"
    # The exited container is kept, as docker run does without --rm.
    kept = client.containers.list(
        all=True, filters={"label": f"{dockertest.LABEL}={token}"}
    )
    assert len(kept) == 1


def test_user_cgroup_parent_respected(engine, tmp_path):
    client, token = engine
    # Not of the form ctprof-<pid>-..., so no ctprof removes it as stale.
    user_parent = f"/ctprof-test-{token}"
    run_dir = tmp_path / "run"
    try:
        proc = ctprof(
            *docker_run_args(
                run_dir,
                token,
                ["sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"],
                docker=("--rm", "--cgroup-parent", user_parent),
            ),
        )
        assert proc.returncode == 0, proc.stderr
        target = read_json(run_dir / "meta.json")["target"]
        summary = read_json(run_dir / "summary.json")

        assert target["cgroup_parent"]["path"] == user_parent
        assert target["cgroup_parent"]["created_by"] == "user"
        assert "last moment" in target["cgroup_parent"]["note"]
        for directory in target["cgroup_dirs"].values():
            assert f"{user_parent}/{target['container']['id']}" in directory
        assert summary["container"]["cpu_seconds"] > 0
    finally:
        for path in _hierarchy_paths(user_parent):
            _rmdir_retrying(path)


def _rmdir_retrying(path: str) -> None:
    """Remove a cgroup directory the engine created, once its child is gone."""
    for _ in range(100):
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"cannot remove the test's cgroup parent {path}")
