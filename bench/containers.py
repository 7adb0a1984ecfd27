"""``ctprof attach --all`` over many idle busybox containers."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import tempfile
import time
import uuid

from ctprof import store

from .measure import CTPROF, cpu_per_wall_second, median

log = logging.getLogger(__name__)

IMAGE = "ctprof-busybox:latest"


def _docker(*args: str) -> str:
    """Run a docker command, once more after a failure: the engine on a shared
    machine may be restarting."""
    for attempt in (1, 2):
        proc = subprocess.run(["docker", *args], capture_output=True, text=True)
        if proc.returncode == 0:
            return proc.stdout
        log.warning("docker %s failed: %s", args[0], proc.stderr.strip())
        if attempt == 1:
            time.sleep(5)
    raise RuntimeError(f"docker {' '.join(args[:3])} failed: {proc.stderr.strip()}")


def start_containers(names: list[str], count: int, prefix: str) -> None:
    """Start ``count`` more idle containers (no network) named PREFIX-N,
    where N continues from ``len(names)``.

    Each name is appended to ``names`` before its ``docker run``, so a caller
    that is interrupted midway can still remove every container it started.
    """
    for _ in range(count):
        name = f"{prefix}-{len(names)}"
        names.append(name)
        _docker(
            "run",
            "-d",
            "--pull",
            "never",
            "--network",
            "none",
            "--name",
            name,
            IMAGE,
            "sleep",
            "86400",
        )


def remove_containers(names: list[str], prefix: str) -> None:
    """Remove the named containers, then any other container named PREFIX-N.

    A ``docker run`` that was interrupted may create its container after the
    first pass.
    """
    if names:
        subprocess.run(["docker", "rm", "-f", *names], capture_output=True, check=False)
    left = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"name=^/?{prefix}-[0-9]+$"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    if left:
        subprocess.run(["docker", "rm", "-f", *left], capture_output=True, check=False)


def _recorded(run_dir: str) -> tuple[int, dict[str, float]]:
    """Return the containers recorded and the median cost per level of one
    container's sample, in milliseconds."""
    with open(os.path.join(run_dir, "meta.json")) as f:
        meta = json.load(f)
    entries = meta.get("containers", [])
    costs: dict[str, list[float]] = {}
    for entry in entries:
        sub = os.path.join(run_dir, entry["directory"])
        for sample in store.iter_samples(sub):
            if sample["kind"] != "sample":
                continue
            for level, seconds in sample["cost"].items():
                costs.setdefault(level, []).append(seconds * 1e3)
    return len(entries), {level: median(v) for level, v in costs.items()}


def run(counts: tuple[int, ...], warmup: float, window: float) -> dict:
    """CPU per wall second of ``attach --all -i 1`` with each count running."""
    prefix = f"ctprof-bench-{uuid.uuid4().hex[:6]}"
    names: list[str] = []
    rows = []
    try:
        for count in counts:
            start_containers(names, count - len(names), prefix)
            running = len(_docker("ps", "-q").split())
            with tempfile.TemporaryDirectory(prefix="ctprof-bench-") as tmp:
                run_dir = os.path.join(tmp, "run")
                argv = [*CTPROF, "attach", "--all", "-q", "-i", "1", "-o", run_dir]
                cpu = cpu_per_wall_second(argv, warmup, window)
                recorded, costs = _recorded(run_dir)
            row = {
                "benchmark_containers": count,
                "running_containers": running,
                "recorded_containers": recorded,
                "cpu_percent_of_core": cpu * 100,
                "container_sample_cost_ms": costs,
            }
            rows.append(row)
            log.info("attach --all %s", row)
    finally:
        remove_containers(names, prefix)
    return {"warmup_s": warmup, "window_s": window, "rows": rows}


def table(results: dict) -> list[str]:
    lines = [
        "`ctprof attach --all -i 1` (host level plus container and process "
        "levels per container); idle `busybox sleep` containers with "
        f"`--network none`; CPU of the profiler over {results['window_s']:.0f} s "
        f"after a {results['warmup_s']:.0f} s warm-up. Running containers "
        "include any that other work on the machine had started.",
        "",
        "| benchmark containers | running | recorded | profiler CPU, % of one core "
        "| per container | median sample cost per container |",
        "| ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results["rows"]:
        per = r["cpu_percent_of_core"] / max(r["recorded_containers"], 1)
        lines.append(
            f"| {r['benchmark_containers']} | {r['running_containers']} | "
            f"{r['recorded_containers']} | {r['cpu_percent_of_core']:.2f} | "
            f"{per:.3f} | {_costs(r['container_sample_cost_ms'])} |"
        )
    return lines


def _costs(costs: dict[str, float]) -> str:
    return ", ".join(f"{level} {ms:.2f} ms" for level, ms in costs.items())
