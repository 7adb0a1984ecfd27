"""Targets for the benchmark: a fresh cgroup holding N sleeping processes."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
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
        """Kill the processes, including any not in ``procs``, and remove the
        cgroup."""
        for proc in self.procs:
            proc.kill()
        # A child forked by a Popen that an interrupt cut short is in the
        # cgroup but not in ``procs``. A tree may also have forked more.
        self._kill_members()
        for proc in self.procs:
            proc.wait()
        self.procs = []
        # remove() moves out a child that joined the cgroup after the last
        # read, and returns its pid, so kill each pid it returns.
        for pid in self.cgroup.remove():
            _kill_and_reap(pid)

    def _members(self) -> set[int]:
        """Return the pids listed in any of the cgroup's directories."""
        pids: set[int] = set()
        for path in self.cgroup.procs_files():
            try:
                with open(path, "rb") as f:
                    pids.update(cg.parse_int_list(f.read(), path))
            except FileNotFoundError:
                continue
        return pids

    def _kill_members(self) -> None:
        """Kill every process in the cgroup, repeating while any is listed,
        because a shell may fork between the read and the kill."""
        ours = {proc.pid for proc in self.procs}
        for _ in range(100):
            members = self._members()
            if not members:
                return
            for pid in members - ours:
                _kill_and_reap(pid)
            for pid in members & ours:
                _kill(pid)
            time.sleep(0.01)
        log.warning(
            "processes %s still in cgroup %s after SIGKILL",
            sorted(members),
            self.directory,
        )

    def __enter__(self) -> SleepingTree:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _kill(pid: int) -> bool:
    """Send SIGKILL to ``pid`` and return whether it existed."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    return True


def _kill_and_reap(pid: int) -> None:
    """Kill ``pid`` and, if it is a child of this process that no Popen
    records, wait for it so that no zombie is left."""
    if not _kill(pid):
        return
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


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
