"""The workload experiment: sysbench cpu alone and under ``ctprof run``."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import tempfile

from .measure import CTPROF, median, spread

log = logging.getLogger(__name__)

VARIANTS = (None, 1.0, 0.1)  # no profiler, then ctprof at these intervals


def _sysbench(events: int) -> list[str]:
    return ["sysbench", "cpu", "--threads=2", f"--events={events}", "--time=0", "run"]


def _total_time(output: str) -> float:
    match = re.search(r"total time:\s+([0-9.]+)s", output)
    if match is None:
        raise RuntimeError(f"no 'total time' in sysbench output: {output[-300:]!r}")
    return float(match.group(1))


def one_run(events: int, interval: float | None) -> float:
    """Return sysbench's own total time, with ctprof around it or not."""
    argv = _sysbench(events)
    with tempfile.TemporaryDirectory(prefix="ctprof-bench-") as directory:
        if interval is not None:
            run_dir = os.path.join(directory, "run")
            argv = [
                *CTPROF,
                "run",
                "-q",
                "-i",
                str(interval),
                "-o",
                run_dir,
                "--",
            ] + argv
        proc = subprocess.run(argv, capture_output=True, text=True, check=True)
    return _total_time(proc.stdout)


def run(events: int, repeats: int) -> dict:
    """Interleave the variants ``repeats`` times, so that slow phases of the
    machine hit every variant alike."""
    times: dict[str, list[float]] = {_name(v): [] for v in VARIANTS}
    for repeat in range(repeats):
        for interval in VARIANTS:
            seconds = one_run(events, interval)
            times[_name(interval)].append(seconds)
            log.info("sysbench repeat %d %s: %.3f s", repeat, _name(interval), seconds)
    base = median(times[_name(None)])
    rows = []
    for interval in VARIANTS:
        values = times[_name(interval)]
        rows.append(
            {
                "variant": _name(interval),
                "median_s": median(values),
                "min_s": min(values),
                "max_s": max(values),
                "spread_percent": spread(values) * 100,
                "overhead_percent": (median(values) / base - 1) * 100,
                "times_s": values,
            }
        )
    return {"events": events, "repeats": repeats, "rows": rows}


def _name(interval: float | None) -> str:
    return "sysbench alone" if interval is None else f"ctprof run -i {interval}"


def table(results: dict) -> list[str]:
    lines = [
        f"`sysbench cpu --threads=2 --events={results['events']} --time=0 run`, "
        f"{results['repeats']} interleaved repeats per variant; sysbench's own "
        '"total time". Overhead is the ratio of medians to sysbench alone; '
        "spread is (max − min) / median of that variant.",
        "",
        "| variant | median | min | max | spread | overhead vs alone |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results["rows"]:
        lines.append(
            f"| {r['variant']} | {r['median_s']:.3f} s | {r['min_s']:.3f} s | "
            f"{r['max_s']:.3f} s | {r['spread_percent']:.1f} % | "
            f"{r['overhead_percent']:+.2f} % |"
        )
    return lines
