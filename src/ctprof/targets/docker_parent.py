"""A parent cgroup that ctprof creates for a container it runs.

The runtime (runc) removes a container's cgroup right after the container
exits, so the end sample can find it gone. A parent that contains only the
container keeps the container's hierarchical counters after that removal,
and CgroupReader reads them from it (see cgroup_reader.PARENT_FIELDS).

With the cgroupfs driver, ``--cgroup-parent /NAME`` puts the container at
/NAME/ID in every hierarchy, as a path from the hierarchy's root. ctprof
creates /NAME in the hierarchies it reads. The runtime creates it in the
others (cpuset, devices, freezer, name=systemd ...) and never removes it, so
``remove`` takes it out of every hierarchy.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import time

from ..collect import cgroupfs as cg
from .command import remove_stale_run_cgroups

log = logging.getLogger(__name__)

# Hierarchies whose counters a run reads. cpuset is left to the runtime,
# which fills in the CPUs and memory nodes of a new v1 cpuset cgroup.
_READ_V1 = ("cpu", "cpuacct", "memory", "blkio", "pids")

# How long remove() waits for the engine to remove the container's cgroup,
# and how often it looks.
REMOVE_TIMEOUT_SECONDS = 10.0
_POLL_SECONDS = 0.02


class ParentSetupError(Exception):
    """Failure to create the parent cgroup, with the reason in its message."""


def parent_name(label: str) -> str:
    """Return "ctprof-<pid>-<label>", with characters outside [A-Za-z0-9_.-]
    replaced, as the directory name of the parent cgroup."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", label)[:60] or "run"
    return f"ctprof-{os.getpid()}-{safe}"


class ContainerParent:
    """The directories of one container's parent cgroup, and their removal."""

    def __init__(self, layout: cg.Layout, name: str) -> None:
        # The value of --cgroup-parent: a path from each hierarchy's root.
        self.path = "/" + name
        # Directories by v1 controller and cg.UNIFIED, as cgroup_dirs() keys them.
        self.dirs: dict[str, str] = {}
        self.created: list[str] = []
        try:
            self._create(layout, name)
        except ParentSetupError:
            self.remove(timeout=0)
            raise
        except OSError as exc:
            self.remove(timeout=0)
            raise ParentSetupError(
                f"cannot create cgroup {exc.filename or ''}: {exc.strerror}"
            ) from exc

    def _create(self, layout: cg.Layout, name: str) -> None:
        mounts = [(c, layout.v1_mount(c)) for c in _READ_V1]
        mounts.append((cg.UNIFIED, layout.v2_mount()))
        for key, mount in mounts:
            if mount is None:
                continue
            if mount.root != "/":
                raise ParentSetupError(
                    f"the cgroup hierarchy at {mount.mountpoint} is mounted from "
                    f"{mount.root}, not from its root, so a cgroup parent path "
                    "cannot be created here"
                )
            remove_stale_run_cgroups(mount.mountpoint)
            path = os.path.join(mount.mountpoint, name)
            if path not in self.created:
                os.mkdir(path)
                self.created.append(path)
            self.dirs[key] = path
        if not self.created:
            raise ParentSetupError("no cgroup hierarchy is mounted")

    def remove(self, timeout: float = REMOVE_TIMEOUT_SECONDS) -> list[str]:
        """Remove the parent from every hierarchy once the engine has removed
        the container's cgroup below it; return the directories left.

        A directory that still contains a cgroup after ``timeout`` seconds is
        left in place with a warning naming it.
        """
        name = self.path.lstrip("/")
        paths = [os.path.join(m, name) for m in cg.hierarchy_mountpoints()]
        paths += [p for p in self.created if p not in paths]
        deadline = time.monotonic() + timeout
        left: list[str] = []
        for path in paths:
            if not _rmdir_when_empty(path, deadline):
                left.append(path)
        if left:
            log.warning(
                "cgroup parent %s still contains a cgroup after the container "
                "ended, so it is left in place (remove it with rmdir once empty): %s",
                self.path,
                ", ".join(left),
            )
        self.created = []
        return left

    def describe(self) -> dict:
        """Return the facts recorded in meta.json under target.cgroup_parent."""
        return {"path": self.path, "created_by": "ctprof", "dirs": dict(self.dirs)}


def _has_child(path: str) -> bool:
    try:
        with os.scandir(path) as entries:
            return any(e.is_dir(follow_symlinks=False) for e in entries)
    except FileNotFoundError:
        return False


def _rmdir_when_empty(path: str, deadline: float) -> bool:
    """Remove a cgroup directory once it has no child cgroup; return whether
    it is gone."""
    while True:
        if not _has_child(path):
            try:
                os.rmdir(path)
                return True
            except FileNotFoundError:
                return True
            except OSError as exc:
                # EBUSY: a task or a child cgroup appeared, or the kernel
                # has not yet released the removed child.
                if exc.errno != errno.EBUSY:
                    log.warning("cannot remove cgroup %s: %s", path, exc.strerror)
                    return False
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_SECONDS)
