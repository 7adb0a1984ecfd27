"""Read one cgroup's counters from whichever of v1 and v2 carries each controller.

``CgroupReader.read()`` returns the container-level sources named in the
catalog ("cg_cpu", "cg_memory", ...) with values already in base units
(seconds, bytes), so the same catalog entry serves v1 and v2. A source the
kernel does not offer is left out and its reason is kept in ``unavailable``.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Collection

from ..errors import ParseError
from . import cgroupfs as cg
from .fileio import FileCache
from .procfs import (
    parse_diskstats,
    parse_key_value,
    parse_pressure_totals,
    pick_values,
)

# The memory.stat fields a sample uses (v1 with hierarchy totals, and v2).
_MEMORY_STAT_V1 = (
    "total_inactive_file",
    "total_rss",
    "total_cache",
    "total_swap",
    "total_pgfault",
    "total_pgmajfault",
)
_MEMORY_STAT_V2 = ("inactive_file", "anon", "file", "pgfault", "pgmajfault")

log = logging.getLogger(__name__)

Source = dict[str, float | None]

# Fields whose file in a parent cgroup also counts what a removed child used,
# by source; None means every field. This was checked on Linux 6.18: a child
# used CPU, memory and O_DIRECT writes, was removed, and the parent was read.
# cpuacct.usage*, v2 cpu.stat usage, memory.max_usage_in_bytes, memory.stat
# total_pgfault, blkio.throttle.*_recursive and the PSI totals of v2
# *.pressure kept the child's totals.
# v1 cpu.stat throttling and memory.oom_control oom_kill count only the
# cgroup's own tasks, and gauges (usage, pids.current) describe the parent.
# The parent's memory peak was 256 KiB above the child's in that check.
# NOTE: memory.peak, memory.stat and io.stat of v2 are taken on the same
# grounds (page counter and rstat totals include children) but were not
# checked on a host whose memory and io controllers are on v2.
PARENT_FIELDS: dict[str, frozenset[str] | None] = {
    "cg_cpu": None,
    "cg_percpu": None,
    "cg_memory": frozenset({"peak", "pgfault", "pgmajfault"}),
    "cg_io": None,
    "cg_pressure": None,
}


class CgroupReader:
    """Reader of the container-level sources for one cgroup.

    ``dirs`` maps v1 controller names and cg.UNIFIED to directories, as
    returned by cgroupfs.cgroup_dirs(). ``fallback_dirs``, with the same
    keys, are directories of a parent that contains only this cgroup: once a
    directory of the cgroup is gone, the fields in PARENT_FIELDS are read
    from the parent and the other sources are left out.
    """

    def __init__(
        self,
        dirs: dict[str, str],
        cache: FileCache | None = None,
        proc_root: str = "/proc",
        fallback_dirs: dict[str, str] | None = None,
    ) -> None:
        self.dirs = dict(dirs)
        self.fallback_dirs = dict(fallback_dirs or {})
        # Reads served by fallback_dirs, and their reader (made on first use).
        self.parent_reads = 0
        self._parent: CgroupReader | None = None
        self._proc_root = proc_root
        self.cache = cache or FileCache()
        self.unavailable: dict[str, str] = {}
        # Joined paths by (controller, file name): a sample names ~20 files,
        # and joining them anew cost a fifth of the container level.
        self._paths: dict[tuple[str, str], str] = {}
        self._blkio_counts = "blkio" not in self.dirs or _blkio_v1_counts(proc_root)
        unified = self.dirs.get(cg.UNIFIED)
        self._v2_controllers: frozenset[str] = frozenset()
        if unified is not None:
            try:
                text = self.cache.read(os.path.join(unified, "cgroup.controllers"))
                self._v2_controllers = frozenset(text.decode().split())
            except OSError:
                pass

    # -- helpers ---------------------------------------------------------
    def _file(self, controller: str, name: str) -> bytes | None:
        if controller not in self.dirs:
            return None
        try:
            return self.cache.read(self._path(controller, name))
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno in (errno.ENODEV, errno.EOPNOTSUPP, errno.ENOENT):
                return None
            raise

    def _v2_has(self, controller: str) -> bool:
        return cg.UNIFIED in self.dirs and controller in self._v2_controllers

    def _path(self, controller: str, name: str) -> str:
        path = self._paths.get((controller, name))
        if path is None:
            path = os.path.join(self.dirs.get(controller, "?"), name)
            self._paths[(controller, name)] = path
        return path

    def _missing(self, source: str, reason: str) -> None:
        self.unavailable.setdefault(source, reason)

    # -- sources ---------------------------------------------------------
    def read(self) -> dict[str, object]:
        """Read every source; values are floats in base units, or None."""
        known = dict(self.unavailable)
        out = self._read_sources()
        # Checked after the read, because the runtime removes one hierarchy
        # after another and may do so during the read.
        if self.fallback_dirs and self._vanished():
            # The reasons found for sources missing from a removed cgroup
            # would be false.
            self.unavailable = known
            out = self._read_parent()
        _add_io_sum(out)
        return out

    def _vanished(self) -> bool:
        return any(not os.path.isdir(d) for d in self.dirs.values())

    def _read_parent(self) -> dict[str, object]:
        """Read the fields of PARENT_FIELDS from the fallback directories."""
        if self._parent is None:
            self._parent = CgroupReader(self.fallback_dirs, proc_root=self._proc_root)
        self.parent_reads += 1
        out: dict[str, object] = {}
        for source, value in self._parent._read_sources(PARENT_FIELDS).items():
            fields = PARENT_FIELDS[source]
            if fields is not None and isinstance(value, dict):
                value = {k: v for k, v in value.items() if k in fields}
            out[source] = value
        return out

    def close_parent(self) -> None:
        """Close the descriptors kept open on the fallback directories."""
        if self._parent is not None:
            self._parent.cache.close()

    def _read_sources(self, only: Collection[str] | None = None) -> dict[str, object]:
        """Read every source, or those in ``only``, from ``dirs``."""
        out: dict[str, object] = {}
        for source, reader in (
            ("cg_cpu", self._cpu),
            ("cg_percpu", self._percpu),
            ("cg_throttle", self._throttle),
            ("cg_cpu_limit", self._cpu_limit),
            ("cg_cpuset", self._cpuset),
            ("cg_memory", self._memory),
            ("cg_io", self._io),
            ("cg_pids", self._pids),
            ("cg_pressure", self._pressure),
        ):
            if only is not None and source not in only:
                continue
            try:
                value = reader()
            except ParseError as exc:
                self._missing(source, f"unreadable: {exc}")
                continue
            if value is not None:
                out[source] = value
        return out

    def _ns_file(self, controller: str, name: str) -> float | None:
        """Read a one-value file in nanoseconds and return seconds."""
        data = self._file(controller, name)
        if data is None:
            return None
        return round(cg._num(self._path(controller, name), data.strip()) * 1e-9, 9)

    def _cpu(self) -> Source | None:
        usage = self._ns_file("cpuacct", "cpuacct.usage")
        if usage is not None:
            out: Source = {"usage": usage}
            user = self._ns_file("cpuacct", "cpuacct.usage_user")
            system = self._ns_file("cpuacct", "cpuacct.usage_sys")
            if user is not None and system is not None:
                out["user"] = user
                out["system"] = system
            else:
                self._missing(
                    "cg_cpu.user",
                    "cpuacct.usage_user/usage_sys need Linux 4.7 or later",
                )
            return out
        data = self._file(cg.UNIFIED, "cpu.stat")
        if data is not None:
            stat = parse_key_value(data, self._path(cg.UNIFIED, "cpu.stat"))
            return {
                "usage": round(stat["usage_usec"] * 1e-6, 9)
                if "usage_usec" in stat
                else None,
                "user": round(stat["user_usec"] * 1e-6, 9)
                if "user_usec" in stat
                else None,
                "system": round(stat["system_usec"] * 1e-6, 9)
                if "system_usec" in stat
                else None,
            }
        self._missing(
            "cg_cpu", "no cpuacct (v1) cgroup and no v2 cpu.stat for this cgroup"
        )
        return None

    def _percpu(self) -> dict[str, Source] | None:
        data = self._file("cpuacct", "cpuacct.usage_percpu")
        if data is None:
            self._missing("cg_percpu", "only cgroup v1 cpuacct reports usage per CPU")
            return None
        values = cg.parse_int_list(data, self._path("cpuacct", "cpuacct.usage_percpu"))
        return {str(i): {"usage": round(v * 1e-9, 9)} for i, v in enumerate(values)}

    def _throttle(self) -> Source | None:
        data = self._file("cpu", "cpu.stat")
        if data is not None:
            stat = parse_key_value(data, self._path("cpu", "cpu.stat"))
            return {
                "nr_periods": stat.get("nr_periods"),
                "nr_throttled": stat.get("nr_throttled"),
                "throttled": round(stat["throttled_time"] * 1e-9, 9)
                if "throttled_time" in stat
                else None,
            }
        if self._v2_has("cpu"):
            data = self._file(cg.UNIFIED, "cpu.stat")
            if data is not None:
                stat = parse_key_value(data, self._path(cg.UNIFIED, "cpu.stat"))
                return {
                    "nr_periods": stat.get("nr_periods"),
                    "nr_throttled": stat.get("nr_throttled"),
                    "throttled": round(stat["throttled_usec"] * 1e-6, 9)
                    if "throttled_usec" in stat
                    else None,
                }
        self._missing(
            "cg_throttle", "the cpu controller is not available for this cgroup"
        )
        return None

    def _cpu_limit(self) -> Source | None:
        quota = self._file("cpu", "cpu.cfs_quota_us")
        period = self._file("cpu", "cpu.cfs_period_us")
        if quota is not None and period is not None:
            q = cg.parse_int_or_max(quota, self._path("cpu", "cpu.cfs_quota_us"))
            p = cg.parse_int_or_max(period, self._path("cpu", "cpu.cfs_period_us"))
            return {
                "quota": None if q is None else round(q * 1e-6, 9),
                "period": None if p is None else round(p * 1e-6, 9),
            }
        if self._v2_has("cpu"):
            data = self._file(cg.UNIFIED, "cpu.max")
            if data is not None:
                q, p = cg.parse_cpu_max(data, self._path(cg.UNIFIED, "cpu.max"))
                return {
                    "quota": None if q is None else round(q * 1e-6, 9),
                    "period": round(p * 1e-6, 9),
                }
        self._missing(
            "cg_cpu_limit", "the cpu controller is not available for this cgroup"
        )
        return None

    def _cpuset(self) -> Source | None:
        for controller, name in (
            ("cpuset", "cpuset.effective_cpus"),
            ("cpuset", "cpuset.cpus"),
            (cg.UNIFIED, "cpuset.cpus.effective"),
        ):
            data = self._file(controller, name)
            if data is not None:
                return {"cpus": cg.parse_cpu_list(data, self._path(controller, name))}
        self._missing(
            "cg_cpuset", "the cpuset controller is not available for this cgroup"
        )
        return None

    def _memory(self) -> Source | None:
        if "memory" in self.dirs:
            return self._memory_v1()
        if self._v2_has("memory"):
            return self._memory_v2()
        self._missing(
            "cg_memory", "the memory controller is not available for this cgroup"
        )
        return None

    def _memory_v1(self) -> Source:
        def one(name: str) -> int | None:
            data = self._file("memory", name)
            return (
                None
                if data is None
                else cg.parse_int_or_max(data, self._path("memory", name))
            )

        stat_data = self._file("memory", "memory.stat") or b""
        stat = pick_values(
            stat_data, self._path("memory", "memory.stat"), _MEMORY_STAT_V1, b" "
        )
        usage = one("memory.usage_in_bytes")
        inactive = stat.get("total_inactive_file")
        oom_data = self._file("memory", "memory.oom_control") or b""
        oom = parse_key_value(oom_data, self._path("memory", "memory.oom_control"))
        if "oom_kill" not in oom:
            self._missing(
                "cg_memory.oom_kill",
                "memory.oom_control reports oom_kill from Linux 4.13",
            )
        self._missing(
            "cg_memory.oom",
            "cgroup v1 does not count OOM events; memory_oom_kills_total counts kills",
        )
        return {
            "usage": usage,
            "working_set": _working_set(usage, inactive),
            "peak": one("memory.max_usage_in_bytes"),
            "limit": one("memory.limit_in_bytes"),
            "rss": stat.get("total_rss"),
            "cache": stat.get("total_cache"),
            "swap": stat.get("total_swap"),
            "pgfault": stat.get("total_pgfault"),
            "pgmajfault": stat.get("total_pgmajfault"),
            "oom": None,
            "oom_kill": oom.get("oom_kill"),
        }

    def _memory_v2(self) -> Source:
        def one(name: str) -> int | None:
            data = self._file(cg.UNIFIED, name)
            return (
                None
                if data is None
                else cg.parse_int_or_max(data, self._path(cg.UNIFIED, name))
            )

        stat_data = self._file(cg.UNIFIED, "memory.stat") or b""
        stat = pick_values(
            stat_data, self._path(cg.UNIFIED, "memory.stat"), _MEMORY_STAT_V2, b" "
        )
        events_data = self._file(cg.UNIFIED, "memory.events") or b""
        events = parse_key_value(events_data, self._path(cg.UNIFIED, "memory.events"))
        usage = one("memory.current")
        peak = one("memory.peak")
        if self._file(cg.UNIFIED, "memory.peak") is None:
            self._missing("cg_memory.peak", "memory.peak needs Linux 5.19 or later")
        swap = None
        if self._file(cg.UNIFIED, "memory.swap.current") is None:
            self._missing(
                "cg_memory.swap", "memory.swap.current is missing (swap accounting off)"
            )
        else:
            swap = one("memory.swap.current")
        return {
            "usage": usage,
            "working_set": _working_set(usage, stat.get("inactive_file")),
            "peak": peak,
            "limit": one("memory.max"),
            "rss": stat.get("anon"),
            "cache": stat.get("file"),
            "swap": swap,
            "pgfault": stat.get("pgfault"),
            "pgmajfault": stat.get("pgmajfault"),
            "oom": events.get("oom"),
            "oom_kill": events.get("oom_kill"),
        }

    def _io(self) -> dict[str, dict[str, float]] | None:
        if "blkio" in self.dirs and not self._blkio_counts:
            self._missing("cg_io", BLKIO_V1_SILENT)
            return None
        if "blkio" in self.dirs:
            name_b = "blkio.throttle.io_service_bytes_recursive"
            name_o = "blkio.throttle.io_serviced_recursive"
            data_b = self._file("blkio", name_b)
            data_o = self._file("blkio", name_o)
            if data_b is None or data_o is None:
                self._missing("cg_io", f"{name_b} is missing from the blkio cgroup")
                return None
            bytes_ = cg.parse_blkio_v1(data_b, self._path("blkio", name_b))
            ops = cg.parse_blkio_v1(data_o, self._path("blkio", name_o))
            out: dict[str, dict[str, float]] = {}
            for dev in set(bytes_) | set(ops):
                b = bytes_.get(dev, {})
                o = ops.get(dev, {})
                out[dev] = {
                    "rbytes": b.get("Read", 0),
                    "wbytes": b.get("Write", 0),
                    "rios": o.get("Read", 0),
                    "wios": o.get("Write", 0),
                }
            return out
        if self._v2_has("io"):
            data = self._file(cg.UNIFIED, "io.stat")
            if data is not None:
                stats = cg.parse_io_stat_v2(data, self._path(cg.UNIFIED, "io.stat"))
                return {
                    dev: {k: f.get(k, 0) for k in ("rbytes", "wbytes", "rios", "wios")}
                    for dev, f in stats.items()
                }
        self._missing(
            "cg_io",
            "the blkio (v1) or io (v2) controller is not available for this cgroup",
        )
        return None

    def _pids(self) -> Source | None:
        controller = (
            "pids"
            if "pids" in self.dirs
            else cg.UNIFIED
            if self._v2_has("pids")
            else None
        )
        if controller is None:
            self._missing(
                "cg_pids", "the pids controller is not available for this cgroup"
            )
            return None
        current = self._file(controller, "pids.current")
        limit = self._file(controller, "pids.max")
        if current is None:
            self._missing("cg_pids", "pids.current is missing")
            return None
        return {
            "current": cg.parse_int_or_max(
                current, self._path(controller, "pids.current")
            ),
            "max": None
            if limit is None
            else cg.parse_int_or_max(limit, self._path(controller, "pids.max")),
        }

    def _pressure(self) -> dict[str, dict[str, float]] | None:
        if cg.UNIFIED not in self.dirs:
            self._missing(
                "cg_pressure",
                "PSI is only reported for cgroup v2 (or the v2 tree of a hybrid host)",
            )
            return None
        out: dict[str, dict[str, float]] = {}
        for res in ("cpu", "memory", "io"):
            data = self._file(cg.UNIFIED, f"{res}.pressure")
            if data is None:
                self._missing(
                    f"pressure_{res}",
                    f"{res}.pressure is missing (kernel without CONFIG_PSI, or before 4.20)",
                )
                continue
            path = self._path(cg.UNIFIED, f"{res}.pressure")
            out[res] = parse_pressure_totals(data, path)
        return out

    def procs(self) -> list[int]:
        """Return the pids in the cgroup and in every cgroup below it."""
        for controller in ("pids", "cpuacct", "memory", cg.UNIFIED, "cpu", "blkio"):
            top = self.dirs.get(controller)
            if top is not None:
                return _procs_below(top)
        return []


def _add_io_sum(out: dict[str, object]) -> None:
    io = out.get("cg_io")
    if isinstance(io, dict):
        # A readable file with no device lines means no I/O yet: zeros.
        totals: dict[str, float] = dict.fromkeys(
            ("rbytes", "wbytes", "rios", "wios"), 0
        )
        for fields in io.values():
            for key, value in fields.items():
                totals[key] = totals.get(key, 0) + value
        out["cg_io_sum"] = totals


BLKIO_V1_SILENT = (
    "the v1 blkio.throttle counters stay at 0 on this kernel (they count only "
    "I/O of throttled groups); see the process level read_bytes_total and "
    "write_bytes_total"
)


def _blkio_v1_counts(proc_root: str) -> bool:
    """Tell whether v1 blkio.throttle counters count I/O on this kernel.

    They are trusted unless the hierarchy root (visible only where it is
    mounted at "/") reports no bytes at all while /proc/diskstats shows
    sectors read or written.
    """
    try:
        layout = cg.detect_layout(proc_root)
        mount = layout.v1_mount("blkio")
        if mount is None or mount.root != "/":
            return True
        name = "blkio.throttle.io_service_bytes_recursive"
        with open(os.path.join(mount.mountpoint, name), "rb") as f:
            per_device = cg.parse_blkio_v1(f.read(), name)
        with open(os.path.join(proc_root, "diskstats"), "rb") as f:
            disks = parse_diskstats(f.read())
    except (OSError, ParseError):
        return True
    counted = sum(sum(ops.values()) for ops in per_device.values())
    host_sectors = sum(d["sectors_read"] + d["sectors_written"] for d in disks.values())
    return counted > 0 or host_sectors == 0


def _working_set(usage: float | None, inactive_file: float | None) -> float | None:
    if usage is None or inactive_file is None:
        return None
    return max(usage - inactive_file, 0)


def _procs_below(top: str) -> list[int]:
    pids: list[int] = []
    stack = [top]
    while stack:
        directory = stack.pop()
        path = os.path.join(directory, "cgroup.procs")
        try:
            # Opened anew each time: on cgroup v1 a kept cgroup.procs
            # descriptor re-read with pread went on returning the pid list of
            # its first read (seen on Linux 6.18: no pids of a new command).
            with open(path, "rb") as f:
                pids.extend(cg.parse_int_list(f.read(), path))
            with os.scandir(directory) as entries:
                stack.extend(e.path for e in entries if e.is_dir(follow_symlinks=False))
        except FileNotFoundError:
            continue  # a child cgroup removed while walking
    return pids
