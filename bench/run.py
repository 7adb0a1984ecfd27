"""Run every benchmark of the profiler's own cost and print BENCHMARKS.md tables.

Usage: .venv/bin/python -m bench.run [--quick] [--original PATH] [--json FILE]
       [--only SECTION ...]

Needs root (cgroups, SCHED_RR), sysbench, pidstat, psrecord and a Docker
engine with the ctprof-busybox image (scripts/dockerd.sh start).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable

from . import containers, cost, overhead, peers, sysbench
from .measure import machine

log = logging.getLogger(__name__)

SECTIONS = ("cost", "cpu", "schedule", "sysbench", "containers", "peers")


def _settings(quick: bool) -> dict:
    if quick:
        return {
            "cost_samples": 50,
            "cpu_windows": {1.0: 10.0, 0.1: 5.0, 0.01: 3.0},
            "changing_window": 6.0,
            "schedule_windows": {0.1: 5.0, 0.01: 3.0},
            "sysbench": (4000, 2),
            "switched": {1.0: (3, 4.0), 0.1: (3, 4.0)},
            "containers": ((20, 100), 8.0, 8.0),
            "peers_window": 6.0,
        }
    return {
        "cost_samples": 200,
        "cpu_windows": {1.0: 60.0, 0.1: 20.0, 0.01: 10.0},
        "changing_window": 20.0,
        "schedule_windows": {0.1: 25.0, 0.01: 10.0},
        "sysbench": (30000, 7),
        "switched": {1.0: (20, 10.0), 0.1: (10, 10.0)},
        "containers": ((20, 100), 15.0, 30.0),
        "peers_window": 30.0,
    }


def run_sections(chosen: tuple[str, ...], quick: bool, original: str | None) -> dict:
    """Run the chosen sections and return their results.

    A step that fails is logged and recorded under "errors", and the other
    steps still run. An interrupt (Ctrl-C, SIGTERM) ends the run after the
    interrupted step has cleaned up. The results so far are kept, and
    "interrupted" names the step.
    """
    settings = _settings(quick)
    # (section, result key, step); a failed step loses only its own result.
    steps: list[tuple[str, str, Callable[[], object]]] = [
        ("cost", "cost", lambda: cost.run((10, 100, 1000), settings["cost_samples"])),
        ("cpu", "cpu", lambda: overhead.profiler_cpu(settings["cpu_windows"])),
        (
            "cpu",
            "storage_changing",
            lambda: overhead.storage_changing(settings["changing_window"]),
        ),
        (
            "schedule",
            "schedule",
            lambda: overhead.schedule(settings["schedule_windows"]),
        ),
        ("sysbench", "sysbench", lambda: sysbench.run(*settings["sysbench"])),
        (
            "sysbench",
            "switched",
            lambda: [
                sysbench.switched(interval, *shape)
                for interval, shape in settings["switched"].items()
            ],
        ),
        ("containers", "containers", lambda: containers.run(*settings["containers"])),
        ("peers", "peers", lambda: peers.run(settings["peers_window"], original)),
    ]
    results: dict = {"machine": machine(), "quick": quick, "original": original}
    results["errors"] = {}
    started = time.monotonic()
    for section, key, step in steps:
        if section not in chosen:
            continue
        try:
            results[key] = step()
            if key == "peers" and "original_error" in results[key]:
                results["errors"]["peers: original"] = results[key]["original_error"]
        except KeyboardInterrupt:
            log.error("interrupted during %s: the results so far follow", key)
            results["interrupted"] = key
            break
        except Exception as exc:  # noqa: BLE001 - report it, run the rest
            log.error("step %s failed: %s: %s", key, type(exc).__name__, exc)
            results["errors"][key] = f"{type(exc).__name__}: {exc}"
    results["duration_s"] = time.monotonic() - started
    return results


def render(results: dict) -> str:
    out = ["## Machine", ""]
    out += [f"- {key}: {value}" for key, value in results["machine"].items()]
    out += [f"- benchmark duration: {results['duration_s']:.0f} s", ""]
    if "cost" in results:
        out += ["## Sample cost", "", *cost.table(results["cost"]), ""]
    if "cpu" in results:
        out += ["## Profiler CPU", "", *overhead.cpu_table(results["cpu"]), ""]
    if "cpu" in results or "storage_changing" in results:
        storage = overhead.storage_table(
            results.get("cpu"), results.get("storage_changing")
        )
        out += ["## Storage", "", *storage, ""]
    if "schedule" in results:
        sched = overhead.schedule_table(results["schedule"])
        out += ["## Schedule accuracy", "", *sched, ""]
    if "sysbench" in results:
        out += ["## Overhead on sysbench", "", *sysbench.table(results["sysbench"]), ""]
    if "switched" in results:
        out += ["### sysbench with the profiler switched on and off", ""]
        out += [*sysbench.switched_table(results["switched"]), ""]
    if "containers" in results:
        out += ["## Many containers", "", *containers.table(results["containers"]), ""]
    if "peers" in results:
        out += ["## Peers", "", *peers.table(results["peers"]), ""]
    for name, error in results["errors"].items():
        out += [f"Step {name} failed: {error}", ""]
    if "interrupted" in results:
        out += [f"Interrupted during step {results['interrupted']}.", ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short windows (~3 min)")
    parser.add_argument(
        "--original",
        type=_existing_file,
        metavar="PATH",
        help="the Container Profiler's script/rudataall.py, outside this repository",
    )
    parser.add_argument(
        "--json",
        type=argparse.FileType("w"),
        metavar="FILE",
        help="also write raw results here",
    )
    parser.add_argument(
        "--only", nargs="+", choices=SECTIONS, default=SECTIONS, help="sections to run"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="bench: %(message)s",
    )
    # SIGTERM unwinds like Ctrl-C, so that each section's cleanup runs: it
    # stops the workloads and profilers it started and removes its cgroups.
    signal.signal(signal.SIGTERM, _interrupt)
    results = run_sections(tuple(args.only), args.quick, args.original)
    if args.json:
        with args.json:
            json.dump(results, args.json, indent=1)
    print(render(results))
    if "interrupted" in results:
        return 130
    return 1 if results["errors"] else 0


def _existing_file(path: str) -> str:
    if not os.path.isfile(path):
        raise argparse.ArgumentTypeError(
            f"{path!r} is not a file: give the path of a copy of rudataall.py"
        )
    return path


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


if __name__ == "__main__":
    sys.exit(main())
