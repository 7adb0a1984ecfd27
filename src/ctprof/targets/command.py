"""A command started by ctprof in a fresh cgroup created for the run.

On v1 and hybrid hosts the run gets one directory per mounted controller it
reads (cpu, cpuacct, memory, blkio, pids), plus one in the v2 tree where that
is mounted. On a v2 host it gets one child cgroup. Each directory is created below
the profiler's own cgroup in that hierarchy, so limits placed on the profiler
still apply. The child process writes itself into every directory before it
execs, so no instruction of the command runs uncounted.
"""

from __future__ import annotations

import errno
import logging
import os
import time

from ..collect import cgroupfs as cg
from ..collect.cgroup_reader import CgroupReader
from .base import Target, descendants

log = logging.getLogger(__name__)

# Controllers whose counters a run reads; cpuset is read from the profiler's
# own cgroup instead (see cgroupfs.V1_CONTROLLERS).
_CREATED_V1 = ("cpu", "cpuacct", "memory", "blkio", "pids")
_V2_WANTED = ("cpu", "memory", "io", "pids")


class CgroupSetupError(Exception):
    """The run's cgroup could not be created; the message gives the reason."""


class RunCgroup:
    """The directories created for one run, and their removal."""

    def __init__(self, layout: cg.Layout, own_dirs: dict[str, str], name: str) -> None:
        self.layout = layout
        self.name = name
        self.parent_dirs: dict[str, str] = {}
        self.dirs: dict[str, str] = {}
        self.created: list[str] = []
        self.v2_enabled: list[str] = []
        try:
            self._create(own_dirs)
        except OSError as exc:
            self.remove()
            raise CgroupSetupError(
                f"cannot create cgroup {exc.filename or ''}: {exc.strerror}"
            ) from exc

    def _create(self, own_dirs: dict[str, str]) -> None:
        for controller in _CREATED_V1:
            parent = own_dirs.get(controller)
            if parent is None:
                continue
            remove_stale_run_cgroups(parent)
            path = os.path.join(parent, self.name)
            if path not in self.created:
                os.mkdir(path)
                self.created.append(path)
            self.parent_dirs[controller] = parent
            self.dirs[controller] = path
        if "cpuset" in own_dirs:
            self.dirs["cpuset"] = own_dirs["cpuset"]
        parent = own_dirs.get(cg.UNIFIED)
        if parent is not None:
            if self.layout.kind == cg.V2:
                self._enable_v2_controllers(parent)
            remove_stale_run_cgroups(parent)
            path = os.path.join(parent, self.name)
            os.mkdir(path)
            self.created.append(path)
            self.parent_dirs[cg.UNIFIED] = parent
            self.dirs[cg.UNIFIED] = path
        if not self.created:
            raise CgroupSetupError("no cgroup hierarchy is mounted")

    def _enable_v2_controllers(self, parent: str) -> None:
        try:
            with open(os.path.join(parent, "cgroup.controllers")) as f:
                available = f.read().split()
        except OSError:
            return
        for controller in _V2_WANTED:
            if controller not in available:
                continue
            try:
                with open(os.path.join(parent, "cgroup.subtree_control"), "w") as f:
                    f.write(f"+{controller}")
                self.v2_enabled.append(controller)
            except OSError as exc:
                # EBUSY: the parent contains processes itself ("no internal
                # processes" rule of cgroup v2), so only the core files
                # (cpu.stat usage, pressure) are available in the child.
                log.warning(
                    "cannot enable the %s controller in %s: %s",
                    controller,
                    parent,
                    exc.strerror,
                )

    def procs_files(self) -> list[str]:
        return [os.path.join(path, "cgroup.procs") for path in self.created]

    def remove(self) -> list[int]:
        """Move leftover processes to the parent cgroups, then remove the
        directories. Returns the pids that had to be moved."""
        moved: list[int] = []
        for path in reversed(self.created):
            parent = os.path.dirname(path)
            leftovers = _read_pids(os.path.join(path, "cgroup.procs"))
            for pid in leftovers:
                try:
                    with open(os.path.join(parent, "cgroup.procs"), "w") as f:
                        f.write(str(pid))
                except OSError:
                    pass
                if pid not in moved:
                    moved.append(pid)
            _rmdir_retrying(path)
        self.created = []
        return moved


def remove_stale_run_cgroups(parent: str) -> list[str]:
    """Remove empty run cgroups left by a ctprof that was killed.

    Run cgroups are named "ctprof-<profiler pid>-..."; one whose profiler is
    gone and which contains no process is removed. Returns the removed paths.
    """
    removed: list[str] = []
    try:
        entries = os.listdir(parent)
    except OSError:
        return removed
    for entry in entries:
        parts = entry.split("-", 2)
        if len(parts) < 3 or parts[0] != "ctprof" or not parts[1].isdigit():
            continue
        if os.path.exists(f"/proc/{parts[1]}"):
            continue
        path = os.path.join(parent, entry)
        if _read_pids(os.path.join(path, "cgroup.procs")):
            continue
        try:
            os.rmdir(path)
            removed.append(path)
            log.info("removed stale run cgroup %s", path)
        except OSError:
            pass
    return removed


def _read_pids(path: str) -> list[int]:
    try:
        with open(path) as f:
            return [int(x) for x in f.read().split()]
    except (OSError, ValueError):
        return []


def _rmdir_retrying(path: str) -> None:
    # A cgroup stays busy for a moment after its last task is reaped.
    for _ in range(50):
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY:
                log.warning("cannot remove cgroup %s: %s", path, exc.strerror)
                return
            time.sleep(0.02)
    log.warning("cgroup %s still busy; left in place", path)


def make_preexec(procs_files: list[str], own_group: bool):
    """Return the function the child runs between fork and exec.

    It joins every cgroup of the run (a failure aborts the exec, so nothing
    runs uncounted) and, when requested, starts its own process group.
    """

    def preexec() -> None:
        pid = str(os.getpid()).encode()
        for path in procs_files:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, pid)
            finally:
                os.close(fd)
        if own_group:
            os.setpgid(0, 0)

    return preexec


class CommandTarget(Target):
    """The command's cgroup, or its process tree when no cgroup can be made."""

    kind = "command"

    def __init__(
        self, run_cgroup: RunCgroup | None, fallback_reason: str | None = None
    ) -> None:
        super().__init__()
        self.run_cgroup = run_cgroup
        self.fallback_reason = fallback_reason
        self.main_pid: int | None = None
        if run_cgroup is not None:
            self.reader = CgroupReader(run_cgroup.dirs)

    def pids(self) -> list[int]:
        if self.reader is None:
            if self.main_pid is None:
                return []
            return descendants(self.main_pid)
        return super().pids()

    def describe(self) -> dict:
        out = super().describe()
        out["mode"] = "cgroup" if self.reader is not None else "process-tree"
        out["main_pid"] = self.main_pid
        if self.run_cgroup is not None:
            # The cgroup was created for the run, so its counters start at 0.
            out["counters_start_at_zero"] = True
        if self.fallback_reason:
            out["fallback_reason"] = self.fallback_reason
        if self.run_cgroup is not None and self.run_cgroup.v2_enabled:
            out["v2_controllers_enabled"] = self.run_cgroup.v2_enabled
        return out
