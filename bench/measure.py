"""Measuring helpers: percentiles, and the CPU time of a process over a window."""

from __future__ import annotations

import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from .workload import own_cpu_seconds

CTPROF = [sys.executable, "-m", "ctprof"]


def percentile(values: list[float], q: float) -> float:
    """Return the q-th percentile (0-100) by the nearest-rank method."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def spread(values: list[float]) -> float:
    """Return (max - min) / median: the run-to-run spread as a fraction."""
    if not values:
        return math.nan
    return (max(values) - min(values)) / statistics.median(values)


def tree_cpu_seconds(pid: int) -> float:
    """Return the CPU time of ``pid``, its live descendants and the children
    they have reaped."""
    # A live process's cutime + cstime hold the CPU of the children it reaped, so
    # a window's difference also counts the descendants that exited within it.
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for child in _descendants(pid):
        try:
            with open(f"/proc/{child}/stat", "rb") as f:
                fields = f.read().rpartition(b")")[2].split()
            # Fields 16 and 17 (cutime, cstime) are 0-based items 13 and 14 after ")".
            reaped = (int(fields[13]) + int(fields[14])) / tick
            total += own_cpu_seconds(child) + reaped
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def _descendants(pid: int) -> list[int]:
    """Return ``pid`` and its live descendants.

    Each thread lists the children it forked in its own ``children`` file.
    """
    out = [pid]
    index = 0
    while index < len(out):
        base = f"/proc/{out[index]}/task"
        try:
            tids = os.listdir(base)
        except OSError:
            tids = []
        for tid in tids:
            try:
                with open(f"{base}/{tid}/children") as f:
                    out.extend(int(c) for c in f.read().split())
            except OSError:
                pass
        index += 1
    return out


def cpu_per_wall_second(
    argv: list[str], warmup: float, window: float, children: bool = False, **kwargs
) -> float:
    """Start ``argv``, wait ``warmup`` seconds, and return the CPU seconds it
    used per wall second during the next ``window`` seconds; then stop it.

    The warm-up leaves out interpreter start-up and the first sample, which a
    profiler left running pays once.
    """
    # stderr goes to a file, not a pipe, because a tool that writes much to
    # stderr would block on a full pipe that is not read during the window.
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            preexec_fn=default_sigint,
            **kwargs,
        )
        try:
            time.sleep(warmup)
            measure = tree_cpu_seconds if children else own_cpu_seconds
            cpu0, t0 = measure(proc.pid), time.monotonic()
            time.sleep(window)
            cpu1, t1 = measure(proc.pid), time.monotonic()
            if proc.poll() is not None:
                errors.seek(0)
                raise RuntimeError(
                    f"{argv[:4]} exited early ({proc.returncode}): "
                    f"{errors.read().decode(errors='replace')[-500:]}"
                )
            return (cpu1 - cpu0) / (t1 - t0)
        finally:
            stop(proc)


def default_sigint() -> None:
    # A benchmark started in the background (nohup, cron) has SIGINT ignored,
    # and its children would inherit that and ignore ``stop``.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def stop(proc: subprocess.Popen, sig: int = signal.SIGINT) -> None:
    """Stop a profiler with ``sig``, then kill it if it has not exited in 20 s.

    SIGINT is what Ctrl-C sends. ``ctprof run`` passes SIGTERM on to its
    command in every case but SIGINT only when the command is not in the
    terminal's foreground group, so stop it with SIGTERM.
    """
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def machine() -> dict:
    """Return the facts BENCHMARKS.md records about the machine."""
    from ctprof.collect import cgroupfs as cg

    with open("/proc/cpuinfo") as f:
        model = next(
            (
                line.split(":", 1)[1].strip()
                for line in f
                if line.startswith("model name")
            ),
            "unknown",
        )
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cores": os.cpu_count(),
        "cpu_model": model,
        "kernel": os.uname().release,
        "cgroup_layout": cg.detect_layout().kind,
        "python": sys.version.split()[0],
        "load_average_at_start": load,
    }
