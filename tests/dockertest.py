"""Helpers of the Docker tests: the engine, labelled containers, and readers of
a container's cgroup that share no code with ctprof (the reference values)."""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from datetime import datetime

import pytest

from conftest import IN_CI, needs_root

IMAGE = os.environ.get("CTPROF_TEST_IMAGE", "ctprof-busybox:latest")
LABEL = "ctprof-test"

# A shell loop that keeps one CPU busy.
BURN = "while :; do :; done"


def docker_client():
    """Return a client of a running engine that has IMAGE; skip only outside CI."""
    needs_root()
    try:
        import docker

        client = docker.from_env(timeout=30)
        client.ping()
        client.images.get(IMAGE)
    except Exception as exc:  # noqa: BLE001 - any failure means no usable engine
        if IN_CI:
            raise AssertionError(
                f"CI needs a Docker engine with {IMAGE}: {exc}"
            ) from exc
        pytest.skip(f"no Docker engine with {IMAGE}: {exc}")
    return client


def labelled_engine():
    """Yield (client, label value) and remove the containers carrying the label.

    Each test module wraps this in its own ``engine`` fixture.
    """
    client = docker_client()
    token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    yield client, token
    for container in client.containers.list(
        all=True, filters={"label": f"{LABEL}={token}"}
    ):
        container.remove(force=True)


def start(client, token: str, command: str, **kwargs):
    """Start a detached container with the test label and no network."""
    return client.containers.run(
        IMAGE,
        ["sh", "-c", command],
        detach=True,
        network_mode="none",
        labels={LABEL: token},
        **kwargs,
    )


def label_args(token: str) -> list[str]:
    return ["--label", f"{LABEL}={token}", "--network", "none"]


def docker_run_args(
    run_dir,
    token: str,
    command: list[str],
    *,
    profiler: tuple[str, ...] = ("-q",),
    docker: tuple[str, ...] = ("--rm",),
) -> list[str]:
    """Return the arguments of ``ctprof docker-run`` for a labelled container
    of IMAGE without network, recording to ``run_dir``."""
    return [
        "docker-run",
        *profiler,
        "-o",
        str(run_dir),
        "--",
        *docker,
        *label_args(token),
        IMAGE,
        *command,
    ]


# -- reference readers ----------------------------------------------------


def _mountpoints() -> dict[str, str]:
    """Map "cpuacct", "cpu", "memory" (v1) and "" (v2) to their mountpoints."""
    out: dict[str, str] = {}
    with open("/proc/self/mounts") as f:
        for line in f:
            _, mountpoint, fstype, options = line.split()[:4]
            if fstype == "cgroup2":
                out.setdefault("", mountpoint)
            elif fstype == "cgroup":
                for option in options.split(","):
                    out.setdefault(option, mountpoint)
    return out


def cgroup_file(pid: int, controller: str, v1_name: str, v2_name: str) -> str:
    """Return the path of one counter file of the cgroup of ``pid``."""
    mounts = _mountpoints()
    with open(f"/proc/{pid}/cgroup") as f:
        lines = [line.rstrip("\n").split(":", 2) for line in f]
    for _, controllers, path in lines:
        if controller in controllers.split(",") and controller in mounts:
            return f"{mounts[controller]}{path}/{v1_name}"
    for hierarchy, _, path in lines:
        if hierarchy == "0" and "" in mounts:
            return f"{mounts['']}{path}/{v2_name}"
    raise AssertionError(f"no cgroup of pid {pid} has {controller}")


def cpu_usage_reader(pid: int):
    """Return a function giving the cgroup's CPU time in seconds."""
    path = cgroup_file(pid, "cpuacct", "cpuacct.usage", "cpu.stat")

    def read() -> float:
        with open(path) as f:
            text = f.read()
        if path.endswith("cpuacct.usage"):
            return int(text) / 1e9
        return int(re.search(r"usage_usec (\d+)", text).group(1)) / 1e6

    return read


def cpu_stat(pid: int) -> dict[str, int]:
    """Return the cgroup's cpu.stat (nr_periods, nr_throttled, throttled time)."""
    path = cgroup_file(pid, "cpu", "cpu.stat", "cpu.stat")
    with open(path) as f:
        return {k: int(v) for k, v in (line.split() for line in f)}


class Recorder:
    """Calls ``read`` in a thread and keeps (time.time(), value) pairs."""

    def __init__(self, read, period: float) -> None:
        self.read = read
        self.period = period
        self.points: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.points.append(self.read())
            except OSError:
                return
            self._stop.wait(self.period)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def interpolate(points: list[tuple[float, float]], t: float) -> float:
    """Linear interpolation of a counter at time t between its readings."""
    for (t0, v0), (t1, v1) in zip(points, points[1:]):
        if t0 <= t <= t1:
            return v0 if t1 == t0 else v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    raise AssertionError(
        f"time {t} is outside the readings {points[0][0]}..{points[-1][0]}"
    )


def engine_time(text: str) -> float:
    """Parse an engine timestamp (RFC 3339 with nanoseconds) into epoch seconds."""
    whole, _, rest = text.rstrip("Z").partition(".")
    seconds = datetime.fromisoformat(whole + "+00:00").timestamp()
    return seconds + (float("0." + rest) if rest else 0.0)


def wait_running(container, timeout: float = 10) -> int:
    """Return the main pid once the engine reports the container running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        container.reload()
        if container.attrs["State"].get("Running") and container.attrs["State"]["Pid"]:
            return container.attrs["State"]["Pid"]
        time.sleep(0.05)
    raise AssertionError(f"container {container.name} did not start")
