"""Peers side by side on one process tree: psrecord, pidstat, ctprof and,
when a checkout is given, the original Container Profiler's collector."""

from __future__ import annotations

import glob
import json
import logging
import os
import shutil
import sys
import tempfile

from ctprof import store

from .measure import CTPROF, cpu_per_wall_second, median, percentile
from .workload import SleepingTree

log = logging.getLogger(__name__)

TREE = 70


class ShellTree(SleepingTree):
    """One ``sh`` with N - 1 sleeping children: a tree psrecord can follow."""

    def _argv_for(self) -> list[str]:
        return ["sh", "-c", self._script]

    def __init__(self, count: int) -> None:
        self._script = (
            f"i=1; while [ $i -lt {count} ]; do sleep 86400 & i=$((i+1)); done; wait"
        )
        super().__init__(1)
        try:
            self.root = self.procs[0].pid
            self.members = _wait_for_members(self.cgroup.procs_files()[0], count)
        except BaseException:
            # close() also kills the shell's children, because they are in the cgroup.
            self.close()
            raise


def _wait_for_members(procs_file: str, count: int) -> list[int]:
    import time

    for _ in range(200):
        with open(procs_file) as f:
            pids = [int(p) for p in f.read().split()]
        if len(pids) >= count:
            return pids
        time.sleep(0.05)
    raise RuntimeError(f"the tree has {len(pids)} processes, expected {count}")


def _ctprof_cost(run_dir: str) -> dict:
    costs = [
        sum(s["cost"].values())
        for s in store.iter_samples(run_dir)
        if s["kind"] == "sample"
    ]
    return {"median_ms": median(costs) * 1e3, "p99_ms": percentile(costs, 99) * 1e3}


def _original_costs(out_dir: str) -> dict:
    levels = {"VM_Write_Time": [], "Container_Write_Time": [], "Process_Write_Time": []}
    total, processes, sizes = [], [], []
    for path in glob.glob(os.path.join(out_dir, "20*.json")):
        with open(path) as f:
            data = json.load(f)
        for key, values in levels.items():
            values.append(data[key])
        total.append(data["profiling_time"])
        processes.append(len(data["pProcesses"]))
        sizes.append(os.path.getsize(path))
    return {
        "samples": len(total),
        "host_ms": median(levels["VM_Write_Time"]) * 1e3,
        "container_ms": median(levels["Container_Write_Time"]) * 1e3,
        "process_ms": median(levels["Process_Write_Time"]) * 1e3,
        "all_ms": median(total) * 1e3,
        "processes": median(processes),
        "bytes_per_sample": median(sizes),
    }


def run(window: float, original: str | None) -> dict:
    """Return the CPU per wall second of each tool at 1 s on the same tree.

    The original collector is measured last. When it fails, the rows already
    measured are kept and "original_error" gives the reason.
    """
    rows = []
    results: dict = {"processes": TREE, "window_s": window, "rows": rows}
    with ShellTree(TREE) as tree, tempfile.TemporaryDirectory() as tmp:
        pid_list = ",".join(map(str, tree.members))
        tools = {
            "ctprof attach -i 1 (host, container, process)": [
                *CTPROF,
                "attach",
                str(tree.root),
                "-q",
                "-i",
                "1",
                "-o",
                os.path.join(tmp, "ctprof-all"),
            ],
            "ctprof attach -i 1 -l p (process level only)": [
                *CTPROF,
                "attach",
                str(tree.root),
                "-q",
                "-i",
                "1",
                "-l",
                "p",
                "-o",
                os.path.join(tmp, "ctprof-p"),
            ],
            "psrecord --include-children --interval 1": [
                shutil.which("psrecord")
                or os.path.join(os.path.dirname(sys.executable), "psrecord"),
                str(tree.root),
                "--include-children",
                "--interval",
                "1",
                "--log",
                os.path.join(tmp, "psrecord.log"),
            ],
            "pidstat -h -u -r -d -w -p PIDS 1": [
                "pidstat",
                "-h",
                "-u",
                "-r",
                "-d",
                "-w",
                "-p",
                pid_list,
                "1",
            ],
        }
        for name, argv in tools.items():
            cpu = cpu_per_wall_second(argv, 3.0, window, children=True)
            row = {"tool": name, "cpu_percent_of_core": cpu * 100}
            if name.startswith("ctprof"):
                run_dir = argv[argv.index("-o") + 1]
                row["cost"] = _ctprof_cost(run_dir)
            rows.append(row)
            log.info("peer %s", row)
        if original:
            try:
                row = _run_original(original, tree.root, tmp, window)
            except Exception as exc:  # noqa: BLE001 - keep the rows measured
                results["original_error"] = f"{type(exc).__name__}: {exc}"
                log.error("peers: original collector failed: %s", exc)
            else:
                rows.append(row)
                log.info("peer %s", row)
    return results


def _run_original(original: str, root: int, tmp: str, window: float) -> dict:
    """Return the original collector's row, measured on the tree below ``root``."""
    out_dir = os.path.join(tmp, "original")
    os.makedirs(out_dir)
    # The collector samples while the pid in ./profile.pid is alive.
    with open(os.path.join(out_dir, "profile.pid"), "w") as f:
        f.write(str(root))
    argv = [sys.executable, os.path.abspath(original), out_dir, "1000"]
    cpu = cpu_per_wall_second(argv, 3.0, window, children=True, cwd=out_dir)
    costs = _original_costs(out_dir)
    if costs["samples"] == 0:
        raise RuntimeError(
            f"{original} ran for {3.0 + window:.0f} s but wrote no sample file "
            f"(20*.json, expected one a second) in {out_dir}: run it by hand with "
            "the same arguments to see why"
        )
    return {
        "tool": "Container Profiler rudataall.py, 1000 ms "
        "(host, container, all processes)",
        "cpu_percent_of_core": cpu * 100,
        "original": costs,
    }


def table(results: dict) -> list[str]:
    lines = [
        f"One `sh` with {results['processes'] - 1} sleeping children in a cgroup; each "
        f"tool alone for {results['window_s']:.0f} s after a 3 s warm-up, at 1 s. CPU "
        "of the tool and its descendants, including those that exited in the "
        "window: schedstat of the live processes plus the cutime and cstime "
        "they hold for the children they reaped.",
        "",
        "| tool | CPU, % of one core | ratio to ctprof (all levels) |",
        "| --- | ---: | ---: |",
    ]
    ref = results["rows"][0]["cpu_percent_of_core"]
    for r in results["rows"]:
        lines.append(
            f"| {r['tool']} | {r['cpu_percent_of_core']:.3f} | "
            f"{r['cpu_percent_of_core'] / ref:.2f} |"
        )
    original = next((r for r in results["rows"] if "original" in r), None)
    if original is not None:
        o = original["original"]
        ours = results["rows"][0]["cost"]
        lines += [
            "",
            "Sample cost side by side (medians; the original times its levels "
            "itself, ctprof records `cost` per sample):",
            "",
            "| collector | host | container | process | all three | processes read | bytes per sample |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
            f"| rudataall.py | {o['host_ms']:.2f} ms | {o['container_ms']:.2f} ms | "
            f"{o['process_ms']:.2f} ms | {o['all_ms']:.2f} ms | {o['processes']:.0f} | "
            f"{o['bytes_per_sample']:.0f} (JSON file) |",
            f"| ctprof | | | | {ours['median_ms']:.2f} ms | {results['processes']} | "
            "see storage |",
            "",
            f"Ratio original / ctprof, all three levels: "
            f"{o['all_ms'] / ours['median_ms']:.1f}.",
        ]
    if "original_error" in results:
        lines += ["", f"The original collector failed: {results['original_error']}"]
    return lines
