"""Parsing the docker run options of ctprof docker-run (no engine needed)."""

from __future__ import annotations

import pytest

from ctprof.docker_args import parse_run_args, parse_size
from ctprof.errors import UsageError

MIB = 1024 * 1024


def test_common_options_translated(monkeypatch):
    monkeypatch.setenv("FROM_HOST", "yes")
    monkeypatch.delenv("UNSET_HERE", raising=False)
    spec = parse_run_args(
        [
            "--rm",
            "--name=job",
            "-e",
            "A=1",
            "-eB=2",
            "--env",
            "FROM_HOST",
            "-e",
            "UNSET_HERE",
            "-v",
            "/data:/data:ro",
            "--memory",
            "64m",
            "--memory-swap=-1",
            "--cpus",
            "0.5",
            "--cpu-quota",
            "20000",
            "--cpu-period",
            "100000",
            "--cpuset-cpus",
            "0",
            "--network",
            "none",
            "--entrypoint",
            "/bin/sh -x",
            "-w",
            "/tmp",
            "-u",
            "1000:1000",
            "-l",
            "team=x",
            "--label",
            "flag",
            "--pids-limit",
            "64",
            "--tmpfs",
            "/scratch:size=1m",
            "--init",
            "busybox",
            "sh",
            "-c",
            "echo hi",
        ]
    )
    assert spec.image == "busybox"
    assert spec.command == ["sh", "-c", "echo hi"]
    assert spec.remove is True
    create = spec.create
    assert create["name"] == "job"
    assert create["environment"] == ["A=1", "B=2", "FROM_HOST=yes"]
    assert create["volumes"] == ["/data:/data:ro"]
    assert create["mem_limit"] == 64 * MIB
    assert create["memswap_limit"] == -1
    assert create["nano_cpus"] == 500_000_000
    assert create["cpu_quota"] == 20000
    assert create["cpu_period"] == 100000
    assert create["cpuset_cpus"] == "0"
    assert create["network_mode"] == "none"
    assert create["entrypoint"] == ["/bin/sh -x"]
    assert create["working_dir"] == "/tmp"
    assert create["user"] == "1000:1000"
    assert create["labels"] == {"team": "x", "flag": ""}
    assert create["pids_limit"] == 64
    assert create["tmpfs"] == {"/scratch": "size=1m"}
    assert create["init"] is True


def test_options_stop_at_image():
    spec = parse_run_args(["busybox", "ls", "-l", "--rm"])
    assert spec.command == ["ls", "-l", "--rm"]
    assert spec.remove is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1024", 1024),
        ("64m", 64 * MIB),
        ("64MB", 64 * MIB),
        ("1.5g", 1536 * MIB),
        ("512k", 512 * 1024),
        ("2GiB", 2048 * MIB),
    ],
)
def test_sizes_use_binary_units(text, expected):
    assert parse_size("--memory", text) == expected


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--frobnicate", "busybox"], "--frobnicate"),
        (["-q", "busybox"], "-q"),
        (["-d", "busybox"], "--detach"),
        (["-it", "busybox"], "--interactive"),
        (["--tty", "busybox"], "--tty"),
        (["--memory", "lots", "busybox"], "lots"),
        (["--cpus", "-1", "busybox"], "-1"),
        (["--pids-limit", "many", "busybox"], "many"),
        (["--rm=maybe", "busybox"], "maybe"),
        (["--name"], "--name"),
        (["--rm"], "IMAGE"),
    ],
)
def test_bad_options_named_in_error(args, named):
    with pytest.raises(UsageError) as error:
        parse_run_args(args)
    assert named in str(error.value)
    assert "\n" not in str(error.value)


def test_cgroup_parent_passed_to_create():
    spec = parse_run_args(["--cgroup-parent", "/mine", "img", "true"])
    assert spec.create == {"cgroup_parent": "/mine"}
