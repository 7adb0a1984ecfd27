"""Sample cost per level, and its slope per process."""

from __future__ import annotations

import logging
import os
import tempfile
import time

from ctprof import catalog
from ctprof.process_collector import NATIVE_ENV
from ctprof.sampler import Sampler
from ctprof.store import RunWriter

from .measure import median, percentile
from .workload import SleepingTree

log = logging.getLogger(__name__)

LEVELS = (catalog.HOST, catalog.CONTAINER, catalog.PROCESS)
#: Process readers, as ProcessCollector.reader names them.
READERS = ("native", "python")


def sample_costs(
    tree: SleepingTree, count: int, reuse: bool, reader: str
) -> dict[str, list] | None:
    """Take ``count`` samples of the tree with the given process reader.

    Returns seconds per level, for all three levels, and for the whole take()
    with the write. Returns None when that reader is not available, because
    the C extension was not built.
    """
    with tempfile.TemporaryDirectory(prefix="ctprof-bench-") as directory:
        writer = RunWriter(directory)
        saved = os.environ.get(NATIVE_ENV)
        os.environ[NATIVE_ENV] = "1" if reader == "native" else "0"
        try:
            sampler = Sampler(tree.target(), catalog.LEVELS, writer, 0.01)
        finally:
            if saved is None:
                del os.environ[NATIVE_ENV]
            else:
                os.environ[NATIVE_ENV] = saved
        assert sampler.process is not None
        if sampler.process.reader != reader:
            writer.close()
            return None
        sampler.process.reuse_unchanged = reuse
        sampler.take("start")
        costs: dict[str, list] = {k: [] for k in (*LEVELS, "all", "take")}
        for _ in range(count):
            t0 = time.perf_counter()
            sample = sampler.take("sample")
            costs["take"].append(time.perf_counter() - t0)
            for level in LEVELS:
                costs[level].append(sample["cost"][level])
            costs["all"].append(sum(sample["cost"].values()))
        writer.close()
        rows = len(sample["processes"])
        if rows != len(tree.pids):
            raise RuntimeError(f"expected {len(tree.pids)} process rows, got {rows}")
    return costs


def _slope(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of (processes, seconds)."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    num = sum((x - mean_x) * (y - mean_y) for x, y in points)
    den = sum((x - mean_x) ** 2 for x, _ in points)
    return num / den


def run(sizes: tuple[int, ...], count: int) -> dict:
    """Measure every size with each process reader, with idle-row reuse on
    (the default) and off."""
    results: dict = {"samples_per_point": count, "points": [], "slopes": []}
    for size in sizes:
        with SleepingTree(size) as tree:
            for reader in READERS:
                for reuse in (True, False):
                    costs = sample_costs(tree, count, reuse, reader)
                    if costs is None:
                        log.warning(
                            "process reader %s is not available: skipped", reader
                        )
                        continue
                    point = {
                        "processes": size,
                        "reader": reader,
                        "reuse_idle_rows": reuse,
                    }
                    for key, values in costs.items():
                        point[key] = {
                            "median_ms": median(values) * 1e3,
                            "p99_ms": percentile(values, 99) * 1e3,
                        }
                    results["points"].append(point)
                    log.info("cost %s", point)
    for reader in READERS:
        for reuse in (True, False):
            points = [
                (p["processes"], p[catalog.PROCESS]["median_ms"] * 1e-3)
                for p in results["points"]
                if p["reuse_idle_rows"] == reuse and p["reader"] == reader
            ]
            if len(points) >= 2:
                slope = _slope(points) * 1e6
                results["slopes"].append(
                    {
                        "reader": reader,
                        "reuse_idle_rows": reuse,
                        "us_per_process": slope,
                    }
                )
    return results


def table(results: dict) -> list[str]:
    lines = [
        f"Samples per point: {results['samples_per_point']}. Milliseconds, "
        'median / p99. "all" is host + container + process; "take" adds '
        "building the sample and writing it (JSON, gzip, write()). Reader "
        '"native" is the C extension ctprof._procread, "python" the same '
        "reads and parsing in Python (CTPROF_NATIVE=0).",
        "",
        "| processes | reader | idle rows reused | host | container | process "
        "| all | take |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for p in results["points"]:
        cells = [
            f"{p[k]['median_ms']:.3f} / {p[k]['p99_ms']:.3f}"
            for k in (*LEVELS, "all", "take")
        ]
        reuse = "yes" if p["reuse_idle_rows"] else "no (every file read)"
        lines.append(
            f"| {p['processes']} | {p['reader']} | {reuse} | "
            + " | ".join(cells)
            + " |"
        )
    lines += [
        "",
        "Process-level slope, least squares over the medians, in µs per process:",
        "",
        "| reader | idle rows reused | slope |",
        "| --- | --- | ---: |",
    ]
    for slope in results["slopes"]:
        reuse = "yes" if slope["reuse_idle_rows"] else "no (every file read)"
        lines.append(f"| {slope['reader']} | {reuse} | {slope['us_per_process']:.1f} |")
    return lines
