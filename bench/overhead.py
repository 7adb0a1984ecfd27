"""Profiler CPU per wall second, schedule accuracy and bytes on disk, all
measured on ``ctprof attach`` recording a tree of ~70 processes."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile

from ctprof import store

from .measure import CTPROF, cpu_per_wall_second, median, percentile, stop
from .workload import SleepingTree, WakingTree

log = logging.getLogger(__name__)

TREE = 70
_BUSY = "while True:\n    pass\n"


def _attach(pid: int, interval: float, directory: str) -> list[str]:
    return [*CTPROF, "attach", str(pid), "-q", "-i", str(interval), "-o", directory]


def _run_dir_facts(directory: str) -> dict:
    samples = list(store.iter_samples(directory))
    series = [s for s in samples if s["kind"] == "sample"]
    size = os.path.getsize(os.path.join(directory, store.SAMPLES))
    with open(os.path.join(directory, store.META)) as f:
        meta = json.load(f)
    raw = sum(len(json.dumps(s, separators=(",", ":"))) + 1 for s in samples)
    return {
        "samples": len(samples),
        "lags_ms": [s["lag"] * 1e3 for s in series if "lag" in s],
        "bytes_per_sample": size / len(samples),
        "json_bytes_per_sample": raw / len(samples),
        "missed_deadlines": meta.get("missed_deadlines"),
    }


def profiler_cpu(windows: dict[float, float]) -> dict:
    """CPU seconds per wall second of ``ctprof attach`` at each interval."""
    out: dict = {"processes": TREE, "intervals": []}
    with SleepingTree(TREE) as tree:
        for interval, window in windows.items():
            with tempfile.TemporaryDirectory(prefix="ctprof-bench-") as directory:
                run_dir = os.path.join(directory, "run")
                cpu = cpu_per_wall_second(
                    _attach(tree.pids[0], interval, run_dir), 3.0, window
                )
                facts = _run_dir_facts(run_dir)
            row = {
                "interval_s": interval,
                "window_s": window,
                "cpu_percent_of_core": cpu * 100,
                "bytes_per_sample": facts["bytes_per_sample"],
                "json_bytes_per_sample": facts["json_bytes_per_sample"],
                "samples": facts["samples"],
            }
            out["intervals"].append(row)
            log.info("profiler cpu %s", row)
    return out


def storage_changing(window: float) -> dict:
    """Bytes per sample at 1 s when every process runs between samples."""
    with WakingTree(TREE) as tree:
        with tempfile.TemporaryDirectory(prefix="ctprof-bench-") as directory:
            run_dir = os.path.join(directory, "run")
            cpu_per_wall_second(_attach(tree.pids[0], 1.0, run_dir), 3.0, window)
            facts = _run_dir_facts(run_dir)
    facts.pop("lags_ms")
    return facts


def schedule(windows: dict[float, float]) -> dict:
    """Deadline deviation of each sample with a busy loop on the other core."""
    out: dict = {"processes": TREE, "intervals": []}
    busy = subprocess.Popen([sys.executable, "-c", _BUSY])
    try:
        with SleepingTree(TREE) as tree:
            for interval, window in windows.items():
                with tempfile.TemporaryDirectory(prefix="ctprof-bench-") as tmp:
                    run_dir = os.path.join(tmp, "run")
                    cpu_per_wall_second(
                        _attach(tree.pids[0], interval, run_dir), 2.0, window
                    )
                    facts = _run_dir_facts(run_dir)
                lags = facts["lags_ms"]
                row = {
                    "interval_s": interval,
                    "samples": len(lags),
                    "p50_ms": median(lags),
                    "p99_ms": percentile(lags, 99),
                    "max_ms": max(lags),
                    "missed_deadlines": facts["missed_deadlines"],
                }
                out["intervals"].append(row)
                log.info("schedule %s", row)
    finally:
        busy.kill()
        busy.wait()
    return out


def tables(cpu: dict, changing: dict, sched: dict) -> dict[str, list[str]]:
    cpu_lines = [
        f"`ctprof attach PID -i INTERVAL` on a cgroup of {cpu['processes']} "
        "sleeping processes, all three levels; CPU time of the profiler "
        "(every thread, from /proc/PID/task/*/schedstat) over the window, "
        "after a 3 s warm-up.",
        "",
        "| interval | window | samples | profiler CPU, % of one core |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for r in cpu["intervals"]:
        cpu_lines.append(
            f"| {r['interval_s']} s | {r['window_s']:.0f} s | {r['samples']} "
            f"| {r['cpu_percent_of_core']:.3f} |"
        )
    one_s = next(r for r in cpu["intervals"] if r["interval_s"] == 1.0)
    storage_lines = [
        "| tree | interval | samples | JSON bytes per sample | bytes on disk per "
        "sample | 1 h at 1 s, on disk |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, r in (
        ("70 sleeping", one_s),
        ("70 waking every 50 ms", {**changing, "interval_s": 1.0}),
    ):
        storage_lines.append(
            f"| {label} | {r['interval_s']} s | {r['samples']} | "
            f"{r['json_bytes_per_sample']:.0f} | {r['bytes_per_sample']:.0f} | "
            f"{r['bytes_per_sample'] * 3600 / 1e6:.2f} MB |"
        )
    sched_lines = [
        "A Python busy loop keeps the other core busy.",
        "",
        "| interval | samples | p50 | p99 | max | missed deadlines |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in sched["intervals"]:
        sched_lines.append(
            f"| {r['interval_s']} s | {r['samples']} | {r['p50_ms']:.2f} ms | "
            f"{r['p99_ms']:.2f} ms | {r['max_ms']:.2f} ms | {r['missed_deadlines']} |"
        )
    return {"cpu": cpu_lines, "storage": storage_lines, "schedule": sched_lines}


__all__ = ["profiler_cpu", "storage_changing", "schedule", "tables", "stop"]
