"""Figures and panels of a run, independent of the drawing library.

``run_figures`` turns a rate frame (analysis/rates.py) into figures of panels of
lines. render/plots.py draws them with matplotlib and render/html.py with plotly,
so both show the same series under the same titles.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import catalog
from ..catalog import CONTAINER, HOST

TOP_PROCESSES = 8


@dataclass
class Line:
    label: str
    y: np.ndarray
    dashed: bool = False


@dataclass
class Panel:
    title: str
    # "percent", "cores", "bytes", "bytes/s", "seconds/s", "count" or
    # "percent of time".
    unit: str
    lines: list[Line]
    stacked: bool = False


@dataclass
class Figure:
    # File stem of the figure, e.g. "cpu".
    key: str
    title: str
    x: np.ndarray
    panels: list[Panel] = field(default_factory=list)


BINARY_PREFIXES = ("B", "KiB", "MiB", "GiB", "TiB")


def byte_scale(maximum: float) -> tuple[float, str]:
    """Return the power of 1024 and its unit name that suit a maximum in bytes."""
    factor = 1.0
    for name in BINARY_PREFIXES:
        if maximum < 1024 * factor or name == BINARY_PREFIXES[-1]:
            return factor, name
        factor *= 1024
    return factor, BINARY_PREFIXES[-1]


def axis_scale(panel: Panel) -> tuple[float, str]:
    """Return the divisor and axis label for a panel's values.

    Bytes are drawn in the binary unit of their maximum (MiB, GiB, ...), so the
    ticks fall on round numbers of that unit.
    """
    if panel.unit not in ("bytes", "bytes/s"):
        return 1.0, panel.unit
    maximum = max(
        (float(np.nanmax(line.y, initial=0)) for line in panel.lines), default=0.0
    )
    factor, name = byte_scale(maximum)
    return factor, name if panel.unit == "bytes" else f"{name}/s"


RATE_UNITS = ("bytes/s", "seconds/s", "cores", "percent", "percent of time")


def delta_heading(panel: Panel) -> str:
    """Return a delta-mode panel's title, saying what one bar stands for."""
    if panel.unit in RATE_UNITS:
        return f"{panel.title} (mean over the whole run)"
    return f"{panel.title} (at the end of the run)"


def _column(frame: pd.DataFrame, level: str, name: str, label: str | None = None):
    column = catalog.column_name(level, name, label)
    if column not in frame:
        return None
    values = frame[column].to_numpy(dtype=float)
    if np.all(np.isnan(values)):
        return None
    return values


def _active(values) -> bool:
    return values is not None and bool(np.nanmax(np.abs(values), initial=0) > 0)


def _labels(frame: pd.DataFrame, level: str, name: str) -> list[str]:
    labels = []
    for column in frame.columns:
        col_level, col_name, label = catalog.parse_column_name(column)
        if col_level == level and col_name == name and label is not None:
            labels.append(label)
    return labels


def host_cpu_modes(frame: pd.DataFrame) -> Panel | None:
    """Return host CPU time by mode, in % of all CPU time in each interval."""
    rates = {}
    for mode in catalog.CPU_MODES_PARTITION:
        values = _column(frame, HOST, catalog.host_cpu_mode_metric(mode))
        if values is not None:
            rates[mode] = values
    if not rates:
        return None
    total = np.nansum(np.vstack(list(rates.values())), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        lines = [
            Line(mode, np.where(total > 0, 100.0 * v / total, np.nan))
            for mode, v in rates.items()
        ]
    return Panel("Host CPU time by mode", "percent", lines, stacked=True)


def container_cpu(frame: pd.DataFrame) -> Panel | None:
    lines = []
    for name, label in (
        ("cpu_usage_seconds_total", "total"),
        ("cpu_user_seconds_total", "user"),
        ("cpu_system_seconds_total", "system"),
    ):
        values = _column(frame, CONTAINER, name)
        if values is not None:
            lines.append(Line(label, values))
    return Panel("Container CPU used", "cores", lines) if lines else None


def container_throttling(frame: pd.DataFrame) -> Panel | None:
    """Return throttled time per second, or None when the cgroup was never throttled."""
    values = _column(frame, CONTAINER, "cpu_throttled_seconds_total")
    if not _active(values):
        return None
    # Time the cgroup's runnable threads spent throttled, per second of wall
    # time; it exceeds 1 when several threads wait at once.
    return Panel("Container CPU throttled", "seconds/s", [Line("throttled", values)])


def container_memory(frame: pd.DataFrame) -> Panel | None:
    lines = []
    for name, label in (
        ("memory_usage_bytes", "usage"),
        ("memory_working_set_bytes", "working set"),
        ("memory_rss_bytes", "rss"),
        ("memory_cache_bytes", "cache"),
        ("memory_peak_bytes", "peak"),
    ):
        values = _column(frame, CONTAINER, name)
        if values is not None:
            lines.append(Line(label, values))
    limit = _column(frame, CONTAINER, "memory_limit_bytes")
    host_total = _column(frame, HOST, "memory_total_bytes")
    # cgroup v1 reports "no limit" as a huge number (PAGE_COUNTER_MAX pages);
    # a limit above the host's RAM limits nothing and would flatten the axis.
    ceiling = np.nanmax(host_total) if host_total is not None else 2.0**62
    if limit is not None and np.nanmin(limit) < ceiling:
        lines.append(Line("limit", limit, dashed=True))
    return Panel("Container memory", "bytes", lines) if lines else None


def disk(frame: pd.DataFrame) -> Panel | None:
    """Return read and write rates per host block device, leaving out idle devices."""
    lines = []
    for device in _labels(frame, HOST, "disk_read_bytes_total"):
        for name, verb in (
            ("disk_read_bytes_total", "read"),
            ("disk_written_bytes_total", "write"),
        ):
            values = _column(frame, HOST, name, device)
            if _active(values):
                lines.append(Line(f"{device} {verb}", values))
    for name, verb in (
        ("io_read_bytes_total", "read"),
        ("io_write_bytes_total", "write"),
    ):
        values = _column(frame, CONTAINER, name)
        if _active(values):
            lines.append(Line(f"container {verb}", values))
    return Panel("Disk I/O", "bytes/s", lines) if lines else None


def network(frame: pd.DataFrame) -> Panel | None:
    """Return receive and transmit rates per interface, leaving out idle interfaces.

    The container level's interfaces are those of the target's network
    namespace; the host's are used when the container level was not recorded.
    """
    level = CONTAINER
    if not _labels(frame, CONTAINER, "network_receive_bytes_total"):
        level = HOST
    lines = []
    for iface in _labels(frame, level, "network_receive_bytes_total"):
        for name, verb in (
            ("network_receive_bytes_total", "rx"),
            ("network_transmit_bytes_total", "tx"),
        ):
            values = _column(frame, level, name, iface)
            if _active(values):
                lines.append(Line(f"{iface} {verb}", values))
    title = f"Network ({level} namespace)"
    return Panel(title, "bytes/s", lines) if lines else None


def process_count(frame: pd.DataFrame) -> Panel | None:
    values = _column(frame, CONTAINER, "processes")
    if values is None:
        return None
    return Panel("Processes in the container", "count", [Line("processes", values)])


def top_processes(procs: pd.DataFrame) -> Panel | None:
    lines = [
        Line(str(column), procs[column].to_numpy(dtype=float))
        for column in procs.columns
        if column != "elapsed_seconds"
    ]
    if not lines:
        return None
    return Panel(f"Top {len(lines)} processes by CPU", "cores", lines)


def pressure(frame: pd.DataFrame, level: str) -> Panel | None:
    """Return PSI stall time in % of wall time, or None when PSI was not recorded."""
    lines = []
    for resource in catalog.PSI_RESOURCES:
        for kind in catalog.PSI_KINDS:
            name = f"pressure_{resource}_{kind}_seconds_total"
            catalog.get(level, name)
            values = _column(frame, level, name)
            if values is not None:
                lines.append(Line(f"{resource} {kind}", 100.0 * values))
    if not lines:
        return None
    return Panel(f"Pressure stall ({level})", "percent of time", lines)


def run_figures(frame: pd.DataFrame, procs: pd.DataFrame) -> list[Figure]:
    """Return the figures of one run, leaving out figures with nothing to draw."""
    x = frame["elapsed_seconds"].to_numpy(dtype=float)
    groups = (
        (
            "cpu",
            "CPU",
            (host_cpu_modes(frame), container_cpu(frame), container_throttling(frame)),
        ),
        ("memory", "Memory", (container_memory(frame),)),
        ("disk", "Disk", (disk(frame),)),
        ("network", "Network", (network(frame),)),
        ("processes", "Processes", (process_count(frame), top_processes(procs))),
        (
            "pressure",
            "Pressure stall information (PSI)",
            (pressure(frame, CONTAINER), pressure(frame, HOST)),
        ),
    )
    figures = []
    for key, title, panels in groups:
        present = [p for p in panels if p is not None]
        if present:
            figures.append(Figure(key, title, x, present))
    return figures
