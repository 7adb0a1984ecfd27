"""Targets for the benchmark: a fresh cgroup holding N sleeping processes."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid

from ctprof.collect import cgroupfs as cg
from ctprof.targets.command import CommandTarget, RunCgroup, make_preexec

log = logging.getLogger(__name__)


class SleepingTree:
    """N ``sleep`` processes in a cgroup created for the benchmark.

    The processes sleep far longer than any measurement and are killed by
    ``close``, which also removes the cgroup.
    """

    def __init__(self, count: int, name: str | None = None) -> None:
        self.layout = cg.detect_layout()
        own = cg.process_cgroup_dirs(self.layout)
        self.cgroup = RunCgroup(
            self.layout, own, name or f"ctprof-bench-{uuid.uuid4().hex[:8]}"
        )
        preexec = make_preexec(self.cgroup.procs_files(), own_group=False)
        self.procs: list[subprocess.Popen] = []
        try:
            for _ in range(count):
                self.procs.append(
                    subprocess.Popen(self._argv_for(), preexec_fn=preexec)
                )
        except BaseException:
            self.close()
            raise

    def _argv_for(self) -> list[str]:
        return ["sleep", "86400"]

    @property
    def directory(self) -> str:
        """Return the cgroup directory that ``ctprof attach`` is given."""
        return next(iter(self.cgroup.dirs.values()))

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def target(self) -> CommandTarget:
        """Return a target reading this cgroup, as ``ctprof run`` would."""
        return CommandTarget(self.cgroup)

    def close(self) -> None:
        for proc in self.procs:
            proc.kill()
        for proc in self.procs:
            proc.wait()
        self.procs = []
        self.cgroup.remove()

    def __enter__(self) -> SleepingTree:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def own_cpu_seconds(pid: int | None = None) -> float:
    """Return the CPU time of every thread of ``pid`` (default: this process).

    /proc/PID/task/TID/schedstat gives nanoseconds on the CPU per thread, far
    finer than the clock ticks of /proc/PID/stat.
    """
    base = f"/proc/{pid or os.getpid()}/task"
    total = 0
    for tid in os.listdir(base):
        try:
            with open(f"{base}/{tid}/schedstat", "rb") as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total * 1e-9


# A process that wakes every 50 ms and does a little work, so that its CPU
# time and context switches change between any two samples.
_WAKER = "import time\nwhile True:\n    time.sleep(0.05)\n    sum(range(3000))\n"


class WakingTree(SleepingTree):
    """N Python processes that wake every 50 ms, in a cgroup of their own."""

    def __init__(self, count: int, name: str | None = None) -> None:
        self._argv = [sys.executable, "-c", _WAKER]
        super().__init__(count, name)

    def _argv_for(self) -> list[str]:
        return self._argv
