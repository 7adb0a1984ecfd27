"""The sampler's time per step: py-spy on ``ctprof attach`` at 0.01 s.

Usage: .venv/bin/python -m bench.profile [SECONDS]   (needs py-spy, root)

Prints the share of the sampler thread's busy samples spent in each step,
counting a stack in the first step whose frame it contains.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import tempfile
import time

from .measure import CTPROF, default_sigint, stop
from .workload import SleepingTree

# (step, frame name prefix) in stack order: the first match names the step.
STEPS = (
    ("host level", "HostCollector.collect"),
    ("container level: pid list", "CgroupReader.procs"),
    ("container level: cgroup files", "CgroupReader.read"),
    ("container level: net/dev and metric dicts", "ContainerCollector.collect"),
    ("process level: read", "ProcessCollector._read_"),
    ("process level: other", "ProcessCollector"),
    ("write: JSON", "dumps"),
    ("write: gzip and write()", "GzipLineWriter.write"),
    ("scheduling and the rest of take()", "Sampler"),
)
_IDLE = ("Condition.wait", "Event.wait", "wait (threading")


def record(seconds: float, out: str, rate: int = 1000) -> None:
    """Record py-spy raw stacks of ctprof attach on 70 sleeping processes into
    the file ``out``."""
    spy = os.path.join(os.path.dirname(sys.executable), "py-spy")
    with SleepingTree(70) as tree, tempfile.TemporaryDirectory() as tmp:
        argv = [*CTPROF, "attach", str(tree.pids[0]), "-q", "-i", "0.01"]
        run_dir = os.path.join(tmp, "run")
        proc = subprocess.Popen(argv + ["-o", run_dir], preexec_fn=default_sigint)
        try:
            time.sleep(2)
            subprocess.run(
                [spy, "record", "-p", str(proc.pid), "-d", str(int(seconds))]
                + ["-r", str(rate), "-f", "raw", "-o", out, "--nonblocking"],
                capture_output=True,
                check=True,
            )
        finally:
            stop(proc)


def shares(path: str) -> tuple[int, dict[str, float]]:
    """Return the sampler thread's busy stack count and the share per step."""
    counts: collections.Counter = collections.Counter()
    total = 0
    with open(path) as f:
        for line in f:
            stack, _, number = line.rstrip().rpartition(" ")
            if "run_series" not in stack:
                continue
            frames = stack.split(";")
            if any(frames[-1].startswith(idle) for idle in _IDLE):
                continue
            total += int(number)
            step = next(
                (
                    name
                    for name, prefix in STEPS
                    if any(f.startswith(prefix) for f in frames)
                ),
                "other",
            )
            counts[step] += int(number)
    return total, {step: counts[step] / total for step, _ in (*STEPS, ("other", ""))}


def main() -> int:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    # Nothing reads the stacks after shares(), so their directory is removed.
    with tempfile.TemporaryDirectory(prefix="ctprof-spy-") as tmp:
        path = os.path.join(tmp, "stacks.txt")
        record(seconds, path)
        total, result = shares(path)
    print(f"py-spy stacks of the busy sampler thread: {total}\n")
    print("| step | share of the sampler's busy time |")
    print("| --- | ---: |")
    for step, share in result.items():
        print(f"| {step} | {share * 100:.1f} % |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
