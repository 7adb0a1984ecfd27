"""CPU of a busy container: ctprof attach against the cgroup and docker stats."""

from __future__ import annotations

import time

import pytest

import dockertest
from dockertest import BURN, Recorder, cpu_usage_reader, engine_time, interpolate

from conftest import ctprof, read_json, read_samples

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture
def engine():
    yield from dockertest.labelled_engine()


def _stats_reader(container):
    def read() -> tuple[float, float]:
        stats = container.stats(stream=False, one_shot=True)
        usage = stats["cpu_stats"]["cpu_usage"]["total_usage"] / 1e9
        return engine_time(stats["read"]), usage

    return read


def _cpu_series(samples) -> list[tuple[float, float]]:
    return [
        (s["t"], s["container"]["cpu_usage_seconds_total"])
        for s in samples
        if "cpu_usage_seconds_total" in s.get("container", {})
    ]


def test_attach_cpu_matches_cgroup_and_docker_stats(engine, tmp_path):
    client, token = engine
    container = dockertest.start(client, token, BURN)
    pid = dockertest.wait_running(container)
    read_cgroup = cpu_usage_reader(pid)
    run_dir = tmp_path / "run"
    with Recorder(lambda: (time.time(), read_cgroup()), 0.01) as direct:
        with Recorder(_stats_reader(container), 0.0) as stats:
            proc = ctprof(
                "attach",
                container.name,
                "-i",
                "0.1",
                "--duration",
                "4",
                "-o",
                str(run_dir),
            )
    assert proc.returncode == 0, proc.stderr

    summary = read_json(run_dir / "summary.json")
    series = _cpu_series(read_samples(run_dir))
    (t_start, _), (t_end, _) = series[0], series[-1]

    # Reference 1: the cgroup's counter read by this test every 10 ms.
    reference = interpolate(direct.points, t_end) - interpolate(direct.points, t_start)
    measured = summary["container"]["cpu_seconds"]

    print(f"cgroup counter: ctprof {measured:.4f} s, reference {reference:.4f} s")
    assert reference > 0.5
    assert abs(measured - reference) / reference < 0.03

    # Reference 2: docker stats, whose readings fall inside ctprof's window.
    inside = [p for p in stats.points if t_start <= p[0] <= t_end]
    assert len(inside) >= 2, f"docker stats readings in the window: {stats.points}"
    (s0, u0), (s1, u1) = inside[0], inside[-1]
    engine_delta = u1 - u0
    ctprof_delta = interpolate(series, s1) - interpolate(series, s0)

    print(f"docker stats: ctprof {ctprof_delta:.4f} s, engine {engine_delta:.4f} s")
    assert engine_delta > 0.3
    assert abs(ctprof_delta - engine_delta) / engine_delta < 0.05


def test_attach_records_container_facts(engine, tmp_path):
    client, token = engine
    container = dockertest.start(
        client, token, "sleep 30", mem_limit="96m", nano_cpus=1_500_000_000
    )
    dockertest.wait_running(container)
    run_dir = tmp_path / "run"
    proc = ctprof("attach", container.id[:14], "--duration", "0.5", "-o", str(run_dir))
    assert proc.returncode == 0, proc.stderr

    meta = read_json(run_dir / "meta.json")
    facts = meta["target"]["container"]
    assert meta["target"]["kind"] == "docker"
    assert facts["id"] == container.id
    assert facts["name"] == container.name
    assert facts["image"] == dockertest.IMAGE
    assert facts["labels"] == {dockertest.LABEL: token}
    assert facts["limits"]["memory_bytes"] == 96 * 1024 * 1024
    assert facts["limits"]["cpus"] == 1.5
    assert meta["target"]["engine"]["version"] == client.version()["Version"]
    assert meta["target"]["cgroup_driver_detected"] == client.info()["CgroupDriver"]
    assert meta["target"]["counters_start_at_zero"] is False
    assert meta["ended_by"] == "duration"

    summary = read_json(run_dir / "summary.json")
    limits = summary["metrics"]["container.memory_limit_bytes"]
    assert limits["max"] == 96 * 1024 * 1024
    # Attaching never changes the container.
    container.reload()
    assert container.status == "running"
