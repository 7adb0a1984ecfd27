"""Profiler CPU per wall second, schedule accuracy and bytes on disk, all
measured on ``ctprof attach`` recording a tree of ~70 processes."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import zlib

from ctprof import gzlines, store

from .measure import CTPROF, cpu_per_wall_second, median, percentile, stop
from .workload import SleepingTree, WakingTree

log = logging.getLogger(__name__)

TREE = 70
_BUSY = "while True:\n    pass\n"


def _attach(pid: int, interval: float, directory: str) -> list[str]:
    return [*CTPROF, "attach", str(pid), "-q", "-i", str(interval), "-o", directory]


def _measure(argv: list[str], directory: str, warmup: float, window: float) -> tuple:
    """Return the CPU per wall second of ``argv`` over the window and the facts
    of the series samples it wrote to ``directory`` in that window."""
    started = time.time()
    cpu = cpu_per_wall_second(argv, warmup, window)
    # The window starts ``warmup`` s after Popen returns, slightly after ``started``.
    facts = _run_dir_facts(directory, started + warmup, started + warmup + window)
    return cpu, facts


def _run_dir_facts(directory: str, start: float, end: float) -> dict:
    """Return the facts of the series samples taken from wall time ``start``
    to ``end``. The start and end samples are left out."""
    path = os.path.join(directory, store.SAMPLES)
    with open(path, "rb") as f:
        lines = list(gzlines.iter_gzip_lines(f, path))
    window = []
    for line, disk in zip(lines, _disk_bytes(lines, path)):
        sample = json.loads(line)
        if sample["kind"] == "sample" and start <= sample["t"] < end:
            window.append((sample, len(line) + 1, disk))
    if not window:
        raise RuntimeError(
            f"{path} has no series sample from wall time {start:.3f} to {end:.3f}"
        )
    with open(os.path.join(directory, store.META)) as f:
        meta = json.load(f)
    return {
        "samples": len(window),
        "lags_ms": [s["lag"] * 1e3 for s, _, _ in window if "lag" in s],
        "bytes_per_sample": sum(disk for _, _, disk in window) / len(window),
        "json_bytes_per_sample": sum(raw for _, raw, _ in window) / len(window),
        "missed_deadlines": meta.get("missed_deadlines"),
    }


def _disk_bytes(lines: list[bytes], path: str) -> list[int]:
    """Return the bytes each line added to the gzip file at ``path``.

    Each line was compressed with the window of the lines before it and
    flushed, so replaying the compression gives its bytes exactly. The replay
    must add up to the file's size.
    """
    deflate = zlib.compressobj(gzlines.LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    sizes = [
        len(deflate.compress(line + b"\n") + deflate.flush(zlib.Z_SYNC_FLUSH))
        for line in lines
    ]
    # The gzip header (10 bytes), then the end of the stream and the trailer.
    total = 10 + sum(sizes) + len(deflate.flush(zlib.Z_FINISH)) + 8
    if total != os.path.getsize(path):
        raise RuntimeError(
            f"replaying the compression of {path} gave {total} bytes, but the "
            f"file has {os.path.getsize(path)}; a failed write may have started "
            "a second gzip member"
        )
    return sizes


def profiler_cpu(windows: dict[float, float]) -> dict:
    """CPU seconds per wall second of ``ctprof attach`` at each interval."""
    out: dict = {"processes": TREE, "intervals": []}
    with SleepingTree(TREE) as tree:
        for interval, window in windows.items():
            with tempfile.TemporaryDirectory(prefix="ctprof-bench-") as directory:
                run_dir = os.path.join(directory, "run")
                argv = _attach(tree.pids[0], interval, run_dir)
                cpu, facts = _measure(argv, run_dir, 3.0, window)
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
            argv = _attach(tree.pids[0], 1.0, run_dir)
            _, facts = _measure(argv, run_dir, 3.0, window)
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
                    argv = _attach(tree.pids[0], interval, run_dir)
                    _, facts = _measure(argv, run_dir, 2.0, window)
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


def cpu_table(cpu: dict) -> list[str]:
    lines = [
        f"`ctprof attach PID -i INTERVAL` on a cgroup of {cpu['processes']} "
        "sleeping processes, all three levels; CPU time of the profiler "
        "(every thread, from /proc/PID/task/*/schedstat) over the window, "
        "after a 3 s warm-up. Samples: the series samples taken in the window.",
        "",
        "| interval | window | samples | profiler CPU, % of one core |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for r in cpu["intervals"]:
        lines.append(
            f"| {r['interval_s']} s | {r['window_s']:.0f} s | {r['samples']} "
            f"| {r['cpu_percent_of_core']:.3f} |"
        )
    return lines


def storage_table(cpu: dict | None, changing: dict | None) -> list[str]:
    """Return the storage table from the 1 s run of profiler_cpu and from
    storage_changing, with the rows of those that ran."""
    runs = []
    if cpu is not None:
        one_s = [r for r in cpu["intervals"] if r["interval_s"] == 1.0]
        runs += [("70 sleeping", r) for r in one_s]
    if changing is not None:
        runs.append(("70 waking every 50 ms", {**changing, "interval_s": 1.0}))
    lines = [
        "The series samples taken in a window after a 3 s warm-up, so not the "
        "start sample, which also describes every process. Bytes on disk: what "
        "each sample's line added to samples.jsonl.gz, from replaying its "
        "compression.",
        "",
        "| tree | interval | samples | JSON bytes per sample | bytes on disk per "
        "sample | 1 h at 1 s, on disk |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, r in runs:
        lines.append(
            f"| {label} | {r['interval_s']} s | {r['samples']} | "
            f"{r['json_bytes_per_sample']:.0f} | {r['bytes_per_sample']:.0f} | "
            f"{r['bytes_per_sample'] * 3600 / 1e6:.2f} MB |"
        )
    return lines


def schedule_table(sched: dict) -> list[str]:
    lines = [
        "A Python busy loop keeps the other core busy. Lags of the series samples "
        "taken in the window after a 2 s warm-up. Missed deadlines: the whole "
        "run's, warm-up included.",
        "",
        "| interval | samples | p50 | p99 | max | missed deadlines |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in sched["intervals"]:
        lines.append(
            f"| {r['interval_s']} s | {r['samples']} | {r['p50_ms']:.2f} ms | "
            f"{r['p99_ms']:.2f} ms | {r['max_ms']:.2f} ms | {r['missed_deadlines']} |"
        )
    return lines


__all__ = [
    "profiler_cpu",
    "storage_changing",
    "schedule",
    "cpu_table",
    "storage_table",
    "schedule_table",
    "stop",
]
