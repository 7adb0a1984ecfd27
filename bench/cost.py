"""Sample cost per level, and its slope per process."""

from __future__ import annotations

import logging
import tempfile
import time

from ctprof import catalog
from ctprof.sampler import Sampler
from ctprof.store import RunWriter

from .measure import median, percentile
from .workload import SleepingTree

log = logging.getLogger(__name__)

LEVELS = (catalog.HOST, catalog.CONTAINER, catalog.PROCESS)
_READERS = {
    "native": "the C extension ctprof._procread",
    "python": "Python (CTPROF_NATIVE=0, or ctprof._procread not built)",
}


def sample_costs(
    tree: SleepingTree, count: int, reuse: bool
) -> tuple[dict[str, list], str]:
    """Take ``count`` samples of the tree; return seconds per level, for all
    three levels, and for the whole take() with the write, and the process
    reader that ran ("native" or "python")."""
    with tempfile.TemporaryDirectory(prefix="ctprof-bench-") as directory:
        writer = RunWriter(directory)
        sampler = Sampler(tree.target(), catalog.LEVELS, writer, 0.01)
        assert sampler.process is not None
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
    return costs, sampler.process.reader


def _slope(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of (processes, seconds)."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    num = sum((x - mean_x) * (y - mean_y) for x, y in points)
    den = sum((x - mean_x) ** 2 for x, _ in points)
    return num / den


def run(sizes: tuple[int, ...], count: int) -> dict:
    """Measure every size with idle-row reuse on (the default) and off."""
    results: dict = {"samples_per_point": count, "points": []}
    for size in sizes:
        with SleepingTree(size) as tree:
            for reuse in (True, False):
                costs, results["process_reader"] = sample_costs(tree, count, reuse)
                point = {"processes": size, "reuse_idle_rows": reuse}
                for key, values in costs.items():
                    point[key] = {
                        "median_ms": median(values) * 1e3,
                        "p99_ms": percentile(values, 99) * 1e3,
                    }
                results["points"].append(point)
                log.info("cost %s", point)
    for reuse in (True, False):
        points = [
            (p["processes"], p[catalog.PROCESS]["median_ms"] * 1e-3)
            for p in results["points"]
            if p["reuse_idle_rows"] == reuse
        ]
        key = "slope_us_per_process" + ("" if reuse else "_full_read")
        results[key] = _slope(points) * 1e6
    return results


def table(results: dict) -> list[str]:
    lines = [
        f"Samples per point: {results['samples_per_point']}. Milliseconds, "
        'median / p99. "all" is host + container + process; "take" adds '
        "building the sample and writing it (JSON, gzip, write()).",
        "",
        "| processes | idle rows reused | host | container | process | all | take |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for p in results["points"]:
        cells = [
            f"{p[k]['median_ms']:.3f} / {p[k]['p99_ms']:.3f}"
            for k in (*LEVELS, "all", "take")
        ]
        reuse = "yes" if p["reuse_idle_rows"] else "no (every file read)"
        lines.append(f"| {p['processes']} | {reuse} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Process-level slope (least squares over the medians): "
        f"{results['slope_us_per_process']:.1f} µs per process with idle rows "
        f"reused, {results['slope_us_per_process_full_read']:.1f} µs per process "
        "when every process is read in full.",
        f"Process reader: {_READERS[results['process_reader']]}.",
    ]
    return lines
