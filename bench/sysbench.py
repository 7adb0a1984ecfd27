"""The workload experiment: sysbench cpu alone and under ``ctprof run``."""

from __future__ import annotations

import logging
import math
import os
import random
import re
import signal
import statistics
import subprocess
import tempfile
import threading
import time

from .measure import CTPROF, default_sigint, median, spread, stop
from .workload import own_cpu_seconds

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
        proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, text=True, preexec_fn=default_sigint
        )
        try:
            output, _ = proc.communicate()
        finally:
            # On an interrupt, ctprof run stops sysbench and removes its cgroup.
            stop(proc, signal.SIGTERM)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited with {proc.returncode}")
    return _total_time(output)


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


# The switched experiment: one long sysbench run under ``ctprof run``, with
# the profiler stopped (SIGSTOP) and continued (SIGCONT) in alternate blocks.
# sysbench reports its events per second every second. A second in which the
# profiler ran is compared with the stopped seconds around it, so slow changes
# of the machine's speed cancel out.

_REPORT = re.compile(rb"^\[ *(\d+)s \].*?eps: ([0-9.]+)")
_SETTLE_S = 1.0  # seconds after a switch that are left out


def switched(interval: float, blocks: int, block_s: float, seed: int = 1) -> dict:
    """Run sysbench once for ``2 * blocks + 1`` blocks of ``block_s`` seconds
    under ``ctprof run -i interval``: off, on, off, ..., off.

    Returns per-block overheads (sysbench's time per event while the
    profiler ran, over the same in the neighbouring off blocks, minus one),
    their median with a bootstrap 95 % interval and their mean, and
    the profiler's CPU while it ran.
    """
    seconds = math.ceil((2 * blocks + 1) * block_s + 3.0)
    workload = ["sysbench", "cpu", "--threads=2", f"--time={seconds}"]
    with tempfile.TemporaryDirectory(prefix="ctprof-bench-") as directory:
        run_dir = os.path.join(directory, "run")
        argv = [*CTPROF, "run", "-q", "-i", str(interval), "-o", run_dir, "--"]
        argv += [*workload, "--report-interval=1", "run"]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, preexec_fn=default_sigint)
        try:
            reports, switches, cpu_on, on_time = _drive(proc, blocks, block_s)
        finally:
            # A stopped profiler would never exit, and ctprof run passes
            # SIGTERM on to sysbench, which would otherwise run to its end.
            _resume(proc)
            stop(proc, signal.SIGTERM)
    rows = _classify(reports, switches, blocks)
    overheads = _block_overheads(rows, blocks)
    low, high = _bootstrap_median(overheads, seed)
    return {
        "interval_s": interval,
        "blocks": len(overheads),
        "block_s": block_s,
        "overheads_percent": [o * 100 for o in overheads],
        "median_percent": median(overheads) * 100,
        "mean_percent": statistics.fmean(overheads) * 100,
        "ci95_percent": (low * 100, high * 100),
        "seconds_used": len(rows),
        "eps_off_cv_percent": _within_block_cv(rows) * 100,
        "profiler_cpu_percent_of_core": cpu_on / on_time * 100,
        "cores": os.cpu_count(),
    }


def _drive(proc, blocks, block_s):
    """Stop and continue the profiler in blocks while sysbench runs.

    Returns sysbench's seconds as (end time, events per second), the switch
    times, and the profiler's CPU seconds and wall seconds while it ran.
    """
    seconds: list[tuple[float, float]] = []
    reader = threading.Thread(
        target=_read_reports, args=(proc.stdout, seconds), daemon=True
    )
    reader.start()
    deadline = time.monotonic() + 30
    while not seconds:  # sysbench has started once its first second is out
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("sysbench under ctprof run printed no report")
        time.sleep(0.05)

    switches = []
    cpu_on = on_time = 0.0
    start = time.monotonic()
    for block in range(2 * blocks + 1):
        now = time.monotonic()
        if block % 2 == 0:
            os.kill(proc.pid, signal.SIGSTOP)
        else:
            os.kill(proc.pid, signal.SIGCONT)
            cpu0, t0 = own_cpu_seconds(proc.pid), now
        switches.append(now)
        time.sleep(max(0.0, start + (block + 1) * block_s - time.monotonic()))
        if block % 2 == 1:
            cpu_on += own_cpu_seconds(proc.pid) - cpu0
            on_time += time.monotonic() - t0
    switches.append(time.monotonic())

    _resume(proc)
    reader.join()
    return seconds, switches, cpu_on, on_time


def _read_reports(stream, seconds: list[tuple[float, float]]) -> None:
    for line in stream:
        match = _REPORT.match(line)
        if match:
            seconds.append((time.monotonic(), float(match.group(2))))


def _resume(proc) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGCONT)


def _classify(seconds, switches, blocks):
    """Return (events per second, block index) for each whole sysbench second
    that lies inside one block, leaving out the first _SETTLE_S of a block."""
    rows = []
    for (t_prev, _), (t_end, eps) in zip(seconds, seconds[1:]):
        for block in range(2 * blocks + 1):
            if switches[block] + _SETTLE_S <= t_prev and t_end <= switches[block + 1]:
                rows.append((eps, block))
                break
    return rows


def _block_overheads(rows, blocks) -> list[float]:
    """Return each on block's time per event over that of the off blocks
    around it, minus one.

    Each side is the median of its seconds, so that a second in which other
    work on the machine took a core counts as one second, not by its size.
    """
    by_block: dict[int, list[float]] = {}
    for eps, block in rows:
        by_block.setdefault(block, []).append(eps)
    out = []
    for block in range(1, 2 * blocks, 2):
        on = by_block.get(block, [])
        off = by_block.get(block - 1, []) + by_block.get(block + 1, [])
        if on and off:
            out.append(statistics.median(off) / statistics.median(on) - 1)
    if not out:
        raise RuntimeError("no block had whole sysbench seconds on both sides")
    return out


def _bootstrap_median(
    values: list[float], seed: int, rounds: int = 4000, run: int = 2
) -> tuple[float, float]:
    """Return a 95 % bootstrap interval of the median of ``values``.

    Neighbouring blocks share the stopped block between them, so their
    overheads are not independent. The resampling therefore draws runs of
    ``run`` neighbours (a moving-block bootstrap) instead of single values.
    """
    rng = random.Random(seed)
    starts = range(len(values) - run + 1) if len(values) >= run else range(1)
    medians = []
    for _ in range(rounds):
        sample: list[float] = []
        while len(sample) < len(values):
            first = rng.choice(starts)
            sample += values[first : first + run]
        medians.append(statistics.median(sample[: len(values)]))
    medians.sort()
    return medians[int(0.025 * rounds)], medians[int(0.975 * rounds) - 1]


def _within_block_cv(rows: list[tuple[float, int]]) -> float:
    """Return the second-to-second variation of sysbench alone: the median over
    stopped blocks of the standard deviation of their seconds over their mean.
    """
    by_block: dict[int, list[float]] = {}
    for eps, block in rows:
        if block % 2 == 0:
            by_block.setdefault(block, []).append(eps)
    ratios = [
        statistics.pstdev(v) / statistics.fmean(v)
        for v in by_block.values()
        if len(v) > 1
    ]
    return statistics.median(ratios) if ratios else math.nan


#: Fewer blocks than this give no interval: with three blocks the 95 % interval
#: of the median is just their minimum and maximum.
MIN_BLOCKS_FOR_INTERVAL = 8


def switched_table(results: list[dict]) -> list[str]:
    first = results[0]
    lines = [
        "One `sysbench cpu --threads=2 --time=T --report-interval=1 run` under "
        "`ctprof run -i INTERVAL`, the profiler stopped (SIGSTOP) and continued "
        f"(SIGCONT) in alternate blocks of {first['block_s']:g} s, starting and "
        "ending stopped. A second of sysbench's events-per-second report is "
        "used when it lies wholly inside a block and starts at least "
        f"{_SETTLE_S:g} s after the switch, so 1 to 2 s of each block are left "
        "out. Overhead of a block: the time per event while the profiler ran "
        "over that of the two stopped blocks around it, minus one, from the "
        "medians of the blocks' seconds. The interval is a 95 % moving-block "
        "bootstrap interval of the median over blocks (none with fewer than "
        f"{MIN_BLOCKS_FOR_INTERVAL} blocks). The CPU column is the profiler's "
        "while it ran; divided by the cores, it is the overhead to expect on "
        "a workload that uses every core. The last column is the median, over "
        "stopped blocks, of the standard deviation of their seconds over "
        "their mean.",
        "",
        "| interval | blocks on | seconds used | profiler CPU, % of one core "
        "| expected | overhead: median | 95 % interval | mean "
        "| sysbench alone, second to second |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for r in results:
        low, high = r["ci95_percent"]
        interval = (
            f"{low:+.2f} to {high:+.2f} %"
            if r["blocks"] >= MIN_BLOCKS_FOR_INTERVAL
            else "too few blocks"
        )
        cpu = r["profiler_cpu_percent_of_core"]
        lines.append(
            f"| {r['interval_s']:g} s | {r['blocks']} | {r['seconds_used']} "
            f"| {cpu:.2f} | {cpu / r['cores']:+.2f} % "
            f"| {r['median_percent']:+.2f} % | {interval} "
            f"| {r['mean_percent']:+.2f} % "
            f"| {r['eps_off_cv_percent']:.2f} % |"
        )
    return lines
