"""ctprof docker-run: exit status, --rm, short containers and network bytes."""

from __future__ import annotations

import pytest

import dockertest
from dockertest import docker_run_args

from conftest import ctprof, read_json, read_samples

pytestmark = [pytest.mark.docker, pytest.mark.slow]

# 4 MiB served by busybox httpd and fetched by busybox wget over loopback.
PAYLOAD = 4 * 1024 * 1024
SERVE_AND_FETCH = (
    "sleep 0.3; mkdir /tmp/www; "
    "dd if=/dev/zero of=/tmp/www/f bs=1024 count=4096 2>/dev/null; "
    "httpd -p 127.0.0.1:8080 -h /tmp/www; "
    "wget -q -O /dev/null http://127.0.0.1:8080/f"
)


@pytest.fixture
def engine():
    yield from dockertest.labelled_engine()


def test_short_container_complete_run_and_rm(engine, tmp_path):
    client, token = engine
    run_dir = tmp_path / "run"
    proc = ctprof(
        *docker_run_args(
            run_dir,
            token,
            ["sh", "-c", "exit 3"],
            profiler=(),
            docker=("--rm", "--name", f"ctprof-{token}"),
        ),
    )
    assert proc.returncode == 3, proc.stderr

    meta = read_json(run_dir / "meta.json")
    summary = read_json(run_dir / "summary.json")
    kinds = [s["kind"] for s in read_samples(run_dir)]
    # The command ends at once. The recording spans the cgroup's creation to
    # the end sample, which includes the runtime's own setup of the container.
    lifetime = summary["elapsed_seconds"]

    print(f"container recorded for {lifetime * 1000:.1f} ms: {summary['container']}")
    assert lifetime < 1.0
    assert meta["status"] == "complete"
    assert kinds == ["start", "end"]
    assert summary["exit_code"] == 3
    assert meta["target"]["counters_start_at_zero"] is True
    # The cgroup was found while the engine started the container, so even
    # this container has CPU and memory figures.
    assert summary["container"]["cpu_seconds"] > 0
    assert summary["container"]["memory_peak_bytes"] > 0
    # --rm is carried out after the end sample.
    assert client.containers.list(all=True, filters={"name": f"ctprof-{token}"}) == []


def test_container_keeps_exit_status_without_rm(engine, tmp_path):
    client, token = engine
    run_dir = tmp_path / "run"
    proc = ctprof(
        *docker_run_args(
            run_dir,
            token,
            [
                "sh",
                "-c",
                'echo "out $CODE"; echo "err $CODE" >&2; sleep 0.3; exit $CODE',
            ],
            profiler=("-q", "-i", "0.05"),
            docker=("-e", "CODE=42"),
        ),
    )
    assert proc.returncode == 42, proc.stderr
    assert "out 42" in proc.stdout
    assert "err 42" in proc.stderr
    containers = client.containers.list(
        all=True, filters={"label": f"{dockertest.LABEL}={token}"}
    )
    assert len(containers) == 1
    assert containers[0].attrs["State"]["ExitCode"] == 42


def test_loopback_bytes_in_network_none_container(engine, tmp_path):
    client, token = engine
    run_dir = tmp_path / "run"
    proc = ctprof(
        *docker_run_args(run_dir, token, ["sh", "-c", SERVE_AND_FETCH]),
    )
    assert proc.returncode == 0, proc.stderr

    summary = read_json(run_dir / "summary.json")
    received = summary["metrics"]["container.network_receive_bytes_total[lo]"]["delta"]
    sent = summary["metrics"]["container.network_transmit_bytes_total[lo]"]["delta"]

    print(f"loopback received {received} B, sent {sent} B, payload {PAYLOAD} B")
    # Loopback carries the payload plus HTTP, TCP and IP headers, and every
    # byte sent on lo is also received on lo.
    assert PAYLOAD <= received <= 1.05 * PAYLOAD
    assert received == sent
    assert summary["container"]["network_receive_bytes"] == received


def test_unknown_docker_option_rejected(engine, tmp_path):
    proc = ctprof("docker-run", "--", "--frobnicate", "x", dockertest.IMAGE, "true")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "--frobnicate" in lines[0]


def test_detach_option_rejected(engine, tmp_path):
    proc = ctprof("docker-run", "--", "-d", dockertest.IMAGE, "true")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "--detach" in proc.stderr


def test_missing_command_exits_127(engine, tmp_path):
    client, token = engine
    run_dir = tmp_path / "run"
    proc = ctprof(
        *docker_run_args(run_dir, token, ["no-such-command"]),
    )
    assert proc.returncode == 127, proc.stderr
    assert "no-such-command" in proc.stderr

    meta = read_json(run_dir / "meta.json")
    assert meta["status"] == "complete"
    assert meta["exit_code"] == 127
    assert "no-such-command" in meta["launch_error"]
    filters = {"label": f"{dockertest.LABEL}={token}"}
    assert client.containers.list(all=True, filters=filters) == []
