"""Containers at their limits: a memory limit that OOM-kills, a CPU quota."""

from __future__ import annotations

import pytest

import dockertest
from dockertest import BURN, cpu_stat, docker_run_args

from conftest import ctprof, read_json, read_samples

pytestmark = [pytest.mark.docker, pytest.mark.slow]

MIB = 1024 * 1024


@pytest.fixture
def engine():
    yield from dockertest.labelled_engine()


def _complete(run_dir) -> list[dict]:

    meta = read_json(run_dir / "meta.json")
    assert meta["status"] == "complete"
    assert (run_dir / "summary.json").exists()
    samples = read_samples(run_dir)
    kinds = [s["kind"] for s in samples]
    assert kinds[0] == "start"
    assert kinds[-1] == "end"
    return samples


def test_memory_limit_oom_kill_counted(engine, tmp_path):
    client, token = engine
    run_dir = tmp_path / "run"
    # busybox tail keeps the current line in memory, and /dev/zero never ends
    # one, so tail grows until the kernel's OOM killer ends it.
    proc = ctprof(
        *docker_run_args(
            run_dir,
            token,
            ["tail", "/dev/zero"],
            profiler=("-i", "0.1"),
            docker=("--memory", "64m"),
        ),
    )
    assert proc.returncode == 137, proc.stderr
    _complete(run_dir)

    meta = read_json(run_dir / "meta.json")
    summary = read_json(run_dir / "summary.json")
    metrics = summary["metrics"]

    print(
        f"limit {metrics['container.memory_limit_bytes']['max']}, "
        f"peak {summary['container']['memory_peak_bytes']}, "
        f"OOM kills {summary['container']['oom_kills']}, "
        f"engine OOMKilled {meta['container_state']['oom_killed']}"
    )
    assert summary["exit_code"] == 137
    assert meta["container_state"]["oom_killed"] is True
    assert meta["target"]["container"]["limits"]["memory_bytes"] == 64 * MIB
    assert metrics["container.memory_limit_bytes"]["max"] == 64 * MIB
    peak = summary["container"]["memory_peak_bytes"]
    assert 0.9 * 64 * MIB <= peak <= 64 * MIB
    assert summary["container"]["oom_kills"] >= 1


def test_cpu_quota_throttles_to_half_a_core(engine, tmp_path):
    client, token = engine
    container = dockertest.start(client, token, BURN, nano_cpus=500_000_000)
    pid = dockertest.wait_running(container)
    before = cpu_stat(pid)
    run_dir = tmp_path / "run"
    proc = ctprof(
        "attach", container.name, "-i", "0.5", "--duration", "3", "-o", str(run_dir)
    )
    after = cpu_stat(pid)
    assert proc.returncode == 0, proc.stderr
    _complete(run_dir)

    summary = read_json(run_dir / "summary.json")
    metrics = summary["metrics"]
    cores = summary["container"]["cpu_seconds"] / summary["elapsed_seconds"]
    periods = metrics["container.cpu_periods_total"]["delta"]
    throttled = metrics["container.cpu_throttled_periods_total"]["delta"]
    throttled_seconds = summary["container"]["cpu_throttled_seconds"]
    reference = after["nr_throttled"] - before["nr_throttled"]

    print(
        f"cores {cores:.3f}; periods {periods}, throttled {throttled} "
        f"(cgroup over a wider window: {reference}); throttled {throttled_seconds} s"
    )
    assert metrics["container.cpu_quota_seconds"]["max"] == pytest.approx(0.05)
    assert metrics["container.cpu_period_seconds"]["max"] == pytest.approx(0.1)
    # The quota caps the container at 0.5 core. Other load on the host can
    # hold it below, so the floor comes from the throttled periods: in each
    # of them the container used its whole quota of 50 ms.
    cpu = summary["container"]["cpu_seconds"]
    idle_cores = (
        metrics["host.cpu_idle_seconds_total"]["delta"] / summary["elapsed_seconds"]
    )

    print(f"host idle during the run: {idle_cores:.2f} cores")
    assert cores <= 0.52
    assert cpu >= 0.95 * 0.05 * throttled
    assert cpu <= 1.05 * 0.05 * periods
    assert 0 < throttled <= reference
    assert throttled_seconds > 0
    if idle_cores >= 0.3:
        # CPUs stood idle, so only the quota held the loop back: it used its
        # whole quota in nearly every period.
        assert cores >= 0.45
        assert throttled >= 0.8 * periods
