"""cgroup layout detection and parsers for cgroup v1 and v2 files.

The layout is read from /proc/PID/mountinfo (which hierarchies are mounted
where, and which controllers each carries) and /proc/PID/cgroup (where a
process sits in each hierarchy), never assumed from fixed paths. File formats
follow Documentation/admin-guide/cgroup-v1/*.rst and cgroup-v2.rst.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..errors import ParseError
from .procfs import _num

V1 = "v1"
V2 = "v2"
HYBRID = "hybrid"
NONE = "none"

# Key under which the v2 (unified) hierarchy appears in a cgroup directory map.
UNIFIED = "unified"

# v1 controllers ctprof reads. cpuset is read but never created for a run,
# because a new v1 cpuset cgroup starts with no CPUs and no memory nodes.
V1_CONTROLLERS = ("cpu", "cpuacct", "cpuset", "memory", "blkio", "pids")


@dataclass(frozen=True)
class Mount:
    """One mounted cgroup hierarchy."""

    mountpoint: str
    # Path inside the hierarchy that is visible at the mountpoint ("/" unless
    # a subtree is bind-mounted, as in containers without a cgroup namespace).
    root: str
    version: str
    # v1: controllers from the mount options; v2: empty (see cgroup.controllers).
    controllers: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Layout:
    """The cgroup hierarchies mounted on this system."""

    mounts: tuple[Mount, ...]

    @property
    def kind(self) -> str:
        has_v1 = any(m.version == V1 and m.controllers for m in self.mounts)
        has_v2 = any(m.version == V2 for m in self.mounts)
        if has_v1 and has_v2:
            return HYBRID
        if has_v1:
            return V1
        if has_v2:
            return V2
        return NONE

    def v1_mount(self, controller: str) -> Mount | None:
        for mount in self.mounts:
            if mount.version == V1 and controller in mount.controllers:
                return mount
        return None

    def v2_mount(self) -> Mount | None:
        for mount in self.mounts:
            if mount.version == V2:
                return mount
        return None


def _unescape_mount_path(text: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal (\040 ...).
    if "\\" not in text:
        return text
    out = []
    i = 0
    while i < len(text):
        if (
            text[i] == "\\"
            and i + 4 <= len(text)
            and all(c in "01234567" for c in text[i + 1 : i + 4])
        ):
            out.append(chr(int(text[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def parse_mountinfo(data: bytes, path: str = "/proc/self/mountinfo") -> Layout:
    """Find cgroup and cgroup2 mounts in a mountinfo file (proc(5) format).

    Line: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS
    """
    mounts: list[Mount] = []
    seen: set[tuple[str, frozenset[str]]] = set()
    for line in data.decode(errors="replace").splitlines():
        if not line.strip():
            continue
        left, sep, right = line.partition(" - ")
        if not sep:
            raise ParseError(path, f"line without ' - ' separator: {line[:80]!r}")
        lparts = left.split()
        rparts = right.split()
        if len(lparts) < 6 or len(rparts) < 3:
            raise ParseError(path, f"too few fields: {line[:80]!r}")
        fstype = rparts[0]
        if fstype not in ("cgroup", "cgroup2"):
            continue
        root = _unescape_mount_path(lparts[3])
        mountpoint = _unescape_mount_path(lparts[4])
        if fstype == "cgroup2":
            mount = Mount(mountpoint, root, V2)
        else:
            opts = set(rparts[2].split(","))
            mount = Mount(mountpoint, root, V1, frozenset(opts & set(V1_CONTROLLERS)))
            if not mount.controllers:
                continue  # named hierarchies such as name=systemd carry no counters
        # The same hierarchy may be mounted twice; the first mount wins.
        key = (mount.version, mount.controllers)
        if key in seen:
            continue
        seen.add(key)
        mounts.append(mount)
    return Layout(tuple(mounts))


def hierarchy_mountpoints(proc_root: str = "/proc") -> list[str]:
    """Return the mountpoint of every cgroup hierarchy mounted from its root.

    Unlike parse_mountinfo, this keeps named hierarchies (name=systemd) and
    controllers ctprof does not read (devices, freezer ...), because a
    container runtime creates a container's cgroup path in all of them.
    """
    path = os.path.join(proc_root, "self", "mountinfo")
    with open(path, "rb") as f:
        data = f.read()
    out: list[str] = []
    for line in data.decode(errors="replace").splitlines():
        left, _, right = line.partition(" - ")
        lparts = left.split()
        rparts = right.split()
        if len(lparts) < 5 or not rparts or rparts[0] not in ("cgroup", "cgroup2"):
            continue
        mountpoint = _unescape_mount_path(lparts[4])
        if lparts[3] == "/" and mountpoint not in out:
            out.append(mountpoint)
    return out


def parse_proc_cgroup(data: bytes, path: str = "/proc/self/cgroup") -> dict[str, str]:
    """Map each controller (and UNIFIED for the v2 line "0::/path") to a path."""
    out: dict[str, str] = {}
    for line in data.decode(errors="replace").splitlines():
        if not line.strip():
            continue
        parts = line.split(":", 2)
        if len(parts) != 3:
            raise ParseError(path, f"expected 'id:controllers:path', got {line[:80]!r}")
        hier_id, controllers, cgpath = parts
        if hier_id == "0" and controllers == "":
            out[UNIFIED] = cgpath
            continue
        for controller in controllers.split(","):
            if controller:
                out[controller] = cgpath
    return out


def _join(mount: Mount, cgpath: str) -> str | None:
    root = mount.root.rstrip("/")
    if root and not (cgpath == root or cgpath.startswith(root + "/")):
        return None  # this cgroup is outside what the mount shows
    rel = cgpath[len(root) :].lstrip("/")
    return os.path.join(mount.mountpoint, rel) if rel else mount.mountpoint


def cgroup_dirs(layout: Layout, membership: dict[str, str]) -> dict[str, str]:
    """Return the directory of a process's cgroup for each controller it uses.

    Keys are v1 controller names plus UNIFIED for the v2 hierarchy.
    """
    dirs: dict[str, str] = {}
    for controller in V1_CONTROLLERS:
        mount = layout.v1_mount(controller)
        cgpath = membership.get(controller)
        if mount is None or cgpath is None:
            continue
        joined = _join(mount, cgpath)
        if joined is not None:
            dirs[controller] = joined
    v2 = layout.v2_mount()
    if v2 is not None and UNIFIED in membership:
        joined = _join(v2, membership[UNIFIED])
        if joined is not None:
            dirs[UNIFIED] = joined
    return dirs


def detect_layout(proc_root: str = "/proc") -> Layout:
    with open(os.path.join(proc_root, "self", "mountinfo"), "rb") as f:
        return parse_mountinfo(f.read(), f.name)


def process_cgroup_dirs(
    layout: Layout, pid: int | str = "self", proc_root: str = "/proc"
) -> dict[str, str]:
    path = os.path.join(proc_root, str(pid), "cgroup")
    with open(path, "rb") as f:
        return cgroup_dirs(layout, parse_proc_cgroup(f.read(), path))


# ---- file parsers -------------------------------------------------------

# v1 reports "no limit" as the largest page-aligned signed 64-bit value; any
# value this large is treated as unlimited.
V1_UNLIMITED = 1 << 62


def parse_int_or_max(data: bytes, path: str) -> int | None:
    """Parse a one-value file; "max" (v2) and -1 (v1 cfs_quota_us) give None."""
    text = data.strip()
    if text == b"max":
        return None
    value = _num(path, text)
    if value < 0 or value >= V1_UNLIMITED:
        return None
    return value


def parse_cpu_max(data: bytes, path: str) -> tuple[int | None, int]:
    """Parse v2 cpu.max: "QUOTA PERIOD" in µs, QUOTA may be "max"."""
    parts = data.split()
    if len(parts) != 2:
        raise ParseError(path, f"expected 'quota period', got {data[:40]!r}")
    quota = None if parts[0] == b"max" else _num(path, parts[0])
    return quota, _num(path, parts[1])


def parse_cpu_list(data: bytes, path: str) -> int:
    """Count the CPUs in a list such as "0-3,8,10-11"."""
    count = 0
    text = data.strip()
    if not text:
        return 0
    for item in text.split(b","):
        lo, sep, hi = item.partition(b"-")
        if sep:
            first, last = _num(path, lo), _num(path, hi)
            if last < first:
                raise ParseError(path, f"descending CPU range {item!r}")
            count += last - first + 1
        else:
            _num(path, lo)
            count += 1
    return count


def parse_int_list(data: bytes, path: str) -> list[int]:
    """Parse whitespace-separated integers (cpuacct.usage_percpu, cgroup.procs)."""
    tokens = data.split()
    try:
        return list(map(int, tokens))
    except ValueError:
        return [_num(path, token) for token in tokens]  # raises ParseError


def parse_blkio_v1(data: bytes, path: str) -> dict[str, dict[str, int]]:
    """Parse blkio.throttle.io_service_bytes / io_serviced: "MAJ:MIN Op N".

    Returns {"MAJ:MIN": {"Read": n, "Write": n, ...}}; the "Total" line is skipped.
    """
    out: dict[str, dict[str, int]] = {}
    for line in data.splitlines():
        parts = line.split()
        if not parts or (parts[0] == b"Total" and len(parts) == 2):
            continue
        if len(parts) != 3 or b":" not in parts[0]:
            raise ParseError(path, f"expected 'MAJ:MIN Op N', got {line[:60]!r}")
        dev = parts[0].decode(errors="replace")
        out.setdefault(dev, {})[parts[1].decode(errors="replace")] = _num(
            path, parts[2]
        )
    return out


def parse_io_stat_v2(data: bytes, path: str) -> dict[str, dict[str, int]]:
    """Parse v2 io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N"."""
    out: dict[str, dict[str, int]] = {}
    for line in data.splitlines():
        parts = line.split()
        if not parts:
            continue
        if b":" not in parts[0]:
            raise ParseError(
                path, f"expected 'MAJ:MIN key=value...', got {line[:60]!r}"
            )
        fields: dict[str, int] = {}
        for item in parts[1:]:
            key, sep, value = item.partition(b"=")
            if not sep:
                raise ParseError(path, f"expected key=value, got {item[:40]!r}")
            fields[key.decode(errors="replace")] = _num(path, value)
        out[parts[0].decode(errors="replace")] = fields
    return out
