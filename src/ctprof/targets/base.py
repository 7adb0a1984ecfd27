"""The interface every target implements."""

from __future__ import annotations

import os

from ..collect import procfs
from ..collect.cgroup_reader import CgroupReader


class Target:
    """Base target: subclasses set ``reader`` and override ``pids``."""

    #: Short name of the target type, recorded in meta.json.
    kind = "target"

    def __init__(self) -> None:
        self.reader: CgroupReader | None = None
        # Processes that must be read even though they left the cgroup, such
        # as the command's main process kept as a zombie for the end sample.
        self.extra_pids: list[int] = []

    def pids(self) -> list[int]:
        """Return the pids to read at the process level."""
        pids = self.reader.procs() if self.reader is not None else []
        for pid in self.extra_pids:
            if pid not in pids:
                pids.append(pid)
        return pids

    def netns_pid(self) -> int | None:
        """Return a pid whose /proc/PID/net/dev shows the target's network."""
        return os.getpid()

    def missing_counters_reason(self) -> str:
        """Return why container counters read at the start are missing from
        the end sample."""
        return "the cgroup could not be read in the end sample"

    def describe(self) -> dict:
        """Return the facts about the target recorded in meta.json."""
        return {
            "kind": self.kind,
            "cgroup_dirs": self.reader.dirs if self.reader else {},
        }


def descendants(root_pid: int, proc_root: str = "/proc") -> list[int]:
    """Return root_pid and every live descendant, found through /proc/PID/stat."""
    parent_of: dict[int, int] = {}
    for entry in os.listdir(proc_root):
        if not entry.isdigit():
            continue
        path = f"{proc_root}/{entry}/stat"
        try:
            with open(path, "rb") as f:
                fields = procfs.parse_pid_stat(f.read(), path)
        except (OSError, procfs.ParseError):
            continue
        parent_of[int(entry)] = int(fields[4])
    children: dict[int, list[int]] = {}
    for pid, ppid in parent_of.items():
        children.setdefault(ppid, []).append(pid)
    out = []
    stack = [root_pid]
    while stack:
        pid = stack.pop()
        if pid in parent_of or pid == root_pid:
            out.append(pid)
        stack.extend(children.get(pid, ()))
    return out
