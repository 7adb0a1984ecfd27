"""A pipeline mixing a command stage and a container stage (real Docker engine)."""

from __future__ import annotations

import os
import sys

import pytest
import yaml

from ctprof import catalog

from conftest import IN_CI, WORKLOADS, ctprof, needs_root, read_json, read_samples

pytestmark = [pytest.mark.slow, pytest.mark.docker]

IMAGE = os.environ.get("CTPROF_TEST_IMAGE", "ctprof-busybox:latest")

# Busy loop in the shell itself, then the shell's own /proc/PID/stat: fields
# 14-17 (proc(5)) are utime, stime, cutime and cstime in clock ticks, which
# is getrusage(RUSAGE_SELF) + getrusage(RUSAGE_CHILDREN) for the container's
# main process.
CONTAINER_BURN = (
    "i=0; while [ $i -lt 600000 ]; do i=$((i+1)); done; "
    'echo "STAT $(cat /proc/$$/stat)"'
)


def _needs_docker() -> None:
    needs_root()
    try:
        import docker

        client = docker.from_env(timeout=10)
        client.ping()
        client.images.get(IMAGE)
    except Exception as exc:  # noqa: BLE001 - any failure means no usable engine
        if IN_CI:
            raise AssertionError(f"CI needs Docker and {IMAGE}: {exc}") from exc
        pytest.skip(f"no Docker engine with {IMAGE}: {exc}")


def _container_cpu_from_stat(stdout: str) -> float:
    line = next(x for x in stdout.splitlines() if x.startswith("STAT "))
    fields = line.split()[1:]
    ticks = sum(int(fields[i]) for i in (13, 14, 15, 16))
    return ticks / os.sysconf("SC_CLK_TCK")


def test_command_and_container_stages(tmp_path):
    _needs_docker()
    truth_path = str(tmp_path / "host.json")
    stages = [
        {
            "name": "on-host",
            "run": [
                sys.executable,
                os.path.join(WORKLOADS, "stage_burn.py"),
                truth_path,
                "2",
                "300",
            ],
        },
        {
            "name": "in-container",
            "image": IMAGE,
            "command": CONTAINER_BURN,
            "shell": True,
            "docker_options": ["--network", "none"],
            "env": {"STAGE": "two"},
        },
        {"name": "after", "run": ["true"]},
    ]
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(yaml.safe_dump({"interval": 0.1, "stages": stages}))
    out = tmp_path / "run"
    proc = ctprof("pipeline", str(pipeline), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    summary = read_json(out / "summary.json")

    assert [e["kind"] for e in summary["stages"]] == ["command", "image", "command"]
    host, container, after = summary["stages"]
    assert host["container"]["cpu_seconds"] == pytest.approx(
        read_json(truth_path)["cpu_seconds"], rel=0.03
    )
    end_sample = read_samples(out / container["directory"])[-1]
    assert end_sample["kind"] == "end"
    # Without the end reading the stage loses up to one interval of CPU.
    usage = catalog.get(catalog.CONTAINER, "cpu_usage_seconds_total").name
    assert end_sample["container"].get(usage) is not None, (
        "the container's cgroup was unreadable at the end sample (removed "
        "by the runtime before ctprof read it)"
    )
    expected = _container_cpu_from_stat(proc.stdout)
    assert expected > 0.3
    # /proc/PID/stat counts clock ticks (USER_HZ), so allow one tick per field.
    tolerance = max(0.03 * expected, 4 / os.sysconf("SC_CLK_TCK"))
    assert container["container"]["cpu_seconds"] == pytest.approx(
        expected, abs=tolerance
    )
    assert container["exit_code"] == 0
    assert host["end_mono"] <= container["start_mono"]
    assert container["end_mono"] <= after["start_mono"]

    meta = read_json(out / "02-in-container" / "meta.json")
    assert meta["status"] == "complete"
    assert "--rm" in meta["docker_run_args"]
    assert "STAGE=two" in meta["docker_run_args"]


def test_container_stage_failure_stops_pipeline(tmp_path):
    _needs_docker()
    stages = [
        {
            "name": "box",
            "image": IMAGE,
            "command": ["sh", "-c", "exit 7"],
            "docker_options": ["--network", "none"],
        },
        {"name": "never", "run": ["true"]},
    ]
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(yaml.safe_dump({"stages": stages}))
    out = tmp_path / "run"
    proc = ctprof("pipeline", str(pipeline), "-o", str(out))
    assert proc.returncode == 7, proc.stderr
    summary = read_json(out / "summary.json")
    assert summary["failed_stage"] == "box"
    assert summary["not_run_stages"] == ["never"]


def test_invalid_docker_option_rejected_before_any_stage(tmp_path):
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(
        "stages:\n"
        "  - name: first\n"
        "    run: [touch, ran.txt]\n"
        "  - name: box\n"
        f"    image: {IMAGE}\n"
        "    docker_options: [--detach]\n"
    )
    proc = ctprof("pipeline", str(pipeline), "-o", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "line 4" in proc.stderr
    assert "'box'" in proc.stderr
    assert "detach" in proc.stderr
    assert not (tmp_path / "ran.txt").exists()


def test_missing_image_fails_its_stage(tmp_path):
    _needs_docker()
    stages = [
        {"name": "first", "run": ["true"]},
        {"name": "box", "image": "ctprof-no-such-image:latest"},
        {"name": "never", "run": ["touch", "never.txt"]},
    ]
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(yaml.safe_dump({"workdir": str(tmp_path), "stages": stages}))
    out = tmp_path / "run"
    proc = ctprof("pipeline", str(pipeline), "-o", str(out))
    assert proc.returncode == 125, proc.stderr
    summary = read_json(out / "summary.json")
    box = summary["stages"][1]
    assert box["name"] == "box"
    assert box["directory"] is None
    assert "ctprof-no-such-image" in box["error"]
    assert summary["failed_stage"] == "box"
    assert not (tmp_path / "never.txt").exists()
