"""Static facts recorded once per run in meta.json."""

from __future__ import annotations

import os
import platform
import socket

from .collect import procfs

SYS_ROOT = "/sys"


def _read_text(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def cpu_model(proc_root: str = "/proc") -> str | None:
    text = _read_text(os.path.join(proc_root, "cpuinfo")) or ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Model", "cpu model"):
            return value.strip()
    return None


def cpu_caches(sys_root: str = SYS_ROOT) -> list[dict]:
    """Return CPU 0's caches: level, type and size as the kernel prints them."""
    base = os.path.join(sys_root, "devices/system/cpu/cpu0/cache")
    out: list[dict] = []
    try:
        entries = sorted(e for e in os.listdir(base) if e.startswith("index"))
    except OSError:
        return out
    for entry in entries:
        d = os.path.join(base, entry)
        out.append(
            {
                "level": _read_text(os.path.join(d, "level")),
                "type": _read_text(os.path.join(d, "type")),
                "size": _read_text(os.path.join(d, "size")),
            }
        )
    return out


def block_device_kinds(names, sys_root: str = SYS_ROOT) -> dict[str, str]:
    """Classify block devices as "disk", "partition" or "virtual" (loop, ram, dm)."""
    out = {}
    for name in names:
        if os.path.exists(os.path.join(sys_root, "devices/virtual/block", name)):
            out[name] = "virtual"
        elif os.path.exists(os.path.join(sys_root, "class/block", name, "partition")):
            out[name] = "partition"
        else:
            out[name] = "disk"
    return out


def block_device_names(sys_root: str = SYS_ROOT) -> dict[str, str]:
    """Map "MAJ:MIN" to device name, for the per-device cgroup io counters."""
    base = os.path.join(sys_root, "dev/block")
    out: dict[str, str] = {}
    try:
        entries = os.listdir(base)
    except OSError:
        return out
    for entry in entries:
        text = _read_text(os.path.join(base, entry, "uevent")) or ""
        for line in text.splitlines():
            if line.startswith("DEVNAME="):
                out[entry] = line.split("=", 1)[1]
    return out


def collect_static(proc_root: str = "/proc", sys_root: str = SYS_ROOT) -> dict:
    from . import __version__

    uname = os.uname()
    meminfo = procfs.parse_meminfo(
        open(os.path.join(proc_root, "meminfo"), "rb").read()
    )
    stat = procfs.parse_stat(open(os.path.join(proc_root, "stat"), "rb").read())
    disks = procfs.parse_diskstats(
        open(os.path.join(proc_root, "diskstats"), "rb").read()
    )
    return {
        "kernel": f"{uname.sysname} {uname.release}",
        "kernel_version": uname.version,
        "architecture": uname.machine,
        "hostname": socket.gethostname(),
        "cpu_model": cpu_model(proc_root),
        "logical_cpus": os.cpu_count(),
        "cpu_caches": cpu_caches(sys_root),
        "memory_total_bytes": meminfo["MemTotal"] * 1024,
        "boot_time": stat.get("btime"),
        "clock_ticks_per_second": os.sysconf("SC_CLK_TCK"),
        "page_size_bytes": os.sysconf("SC_PAGE_SIZE"),
        "block_devices": block_device_kinds(disks, sys_root),
        "block_device_numbers": block_device_names(sys_root),
        "python": platform.python_version(),
        "ctprof_version": __version__,
    }
