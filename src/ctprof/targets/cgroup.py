"""Targets defined by a cgroup that already exists.

- ``CgroupPathTarget``: a cgroup given by its directory or by its path inside
  the hierarchies (e.g. /docker/ID), read in every mounted hierarchy where it
  exists.
- ``PidTarget``: the cgroup a process belongs to (/proc/PID/cgroup).
- ``OwnCgroupTarget``: for ``ctprof run`` inside a container, which cannot
  create cgroups: the profiler's own cgroup, which is the container's.
"""

from __future__ import annotations

import os

from ..collect import cgroupfs as cg
from ..collect.cgroup_reader import CgroupReader
from ..errors import UsageError
from .base import Target
from .command import CommandTarget


def _all_hierarchies(cgpath: str) -> dict[str, str]:
    membership = {controller: cgpath for controller in cg.V1_CONTROLLERS}
    membership[cg.UNIFIED] = cgpath
    return membership


def _path_in_hierarchy(layout: cg.Layout, directory: str) -> str | None:
    """Return the cgroup path of a directory below a cgroup mount, else None."""
    real = os.path.realpath(directory)
    for mount in layout.mounts:
        top = os.path.realpath(mount.mountpoint)
        if real == top or real.startswith(top + "/"):
            rel = real[len(top) :]
            root = mount.root.rstrip("/")
            return (root + rel) or "/"
    return None


def cgroup_path_dirs(layout: cg.Layout, path: str) -> dict[str, str]:
    """Return the existing directories of a cgroup given as a directory under a
    cgroup mount or as a path inside the hierarchies."""
    cgpath = _path_in_hierarchy(layout, path) if os.path.isdir(path) else None
    if cgpath is None:
        cgpath = "/" + path.strip("/")
    dirs = cg.cgroup_dirs(layout, _all_hierarchies(cgpath))
    found = {key: d for key, d in dirs.items() if os.path.isdir(d)}
    if not found:
        mounts = ", ".join(m.mountpoint for m in layout.mounts) or "none"
        raise UsageError(
            f"no cgroup {path!r} in any mounted cgroup hierarchy (mounts: {mounts}); "
            "give a directory under a cgroup mount or a cgroup path such as /docker/ID"
        )
    return found


class CgroupPathTarget(Target):
    """An existing cgroup, followed until it is removed."""

    kind = "cgroup"

    def __init__(self, layout: cg.Layout, path: str) -> None:
        super().__init__()
        self.path = path
        self.cgroup = CgroupReader(cgroup_path_dirs(layout, path))
        self.reader = self.cgroup

    def exists(self) -> bool:
        return any(os.path.isdir(d) for d in self.cgroup.dirs.values())

    def netns_pid(self) -> int | None:
        # Any member shows the cgroup's network namespace; None when empty.
        pids = self.cgroup.procs()
        return pids[0] if pids else None

    def describe(self) -> dict:
        out = super().describe()
        out["path"] = self.path
        return out


class PidTarget(Target):
    """The cgroup of one process, followed until that process exits."""

    kind = "pid"

    def __init__(self, layout: cg.Layout, pid: int, proc_root: str = "/proc") -> None:
        super().__init__()
        self.pid = pid
        try:
            dirs = cg.process_cgroup_dirs(layout, pid, proc_root)
        except FileNotFoundError:
            raise UsageError(
                f"no process with pid {pid}; give the pid of a running process"
            ) from None
        if not dirs:
            raise UsageError(
                f"the cgroup of pid {pid} is outside the cgroup mounts visible here"
            )
        self.reader = CgroupReader(dirs)

    def netns_pid(self) -> int | None:
        return self.pid

    def describe(self) -> dict:
        out = super().describe()
        out["pid"] = self.pid
        return out


def container_evidence(layout: cg.Layout, root: str = "/") -> list[str]:
    """Return the signs that this process runs inside a container (none: host)."""
    evidence = []
    for marker, engine in ((".dockerenv", "Docker"), ("run/.containerenv", "Podman")):
        if os.path.exists(os.path.join(root, marker)):
            evidence.append(f"/{marker} exists ({engine})")
    if os.environ.get("container"):
        evidence.append(f"environment variable container={os.environ['container']}")
    subtrees = sorted({m.root for m in layout.mounts if m.root not in ("", "/")})
    if subtrees:
        evidence.append(f"cgroup mounts show only the subtree {subtrees[0]}")
    return evidence


class OwnCgroupTarget(CommandTarget):
    """The cgroup ctprof itself runs in, used inside a container.

    Its counters cover every process of the container, ctprof included.
    """

    kind = "own-cgroup"

    def __init__(self, dirs: dict[str, str], evidence: list[str], reason: str) -> None:
        super().__init__(None, fallback_reason=reason)
        self.reader = CgroupReader(dirs)
        self.evidence = evidence

    def describe(self) -> dict:
        out = super().describe()
        out["mode"] = "own-cgroup"
        out["container_evidence"] = self.evidence
        return out


def own_cgroup_target(layout: cg.Layout, reason: str) -> OwnCgroupTarget | None:
    """Return the own-cgroup target when running inside a container, else None."""
    if layout.kind == cg.NONE:
        return None
    evidence = container_evidence(layout)
    if not evidence:
        return None
    try:
        dirs = cg.process_cgroup_dirs(layout)
    except OSError:
        return None
    readable = {key: d for key, d in dirs.items() if os.path.isdir(d)}
    if not readable:
        return None
    return OwnCgroupTarget(readable, evidence, reason)
