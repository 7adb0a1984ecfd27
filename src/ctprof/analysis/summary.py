"""Totals over a run or over a window of it (the delta).

Counters: last minus first, computed as the sum of the increases between
consecutive samples. A counter that goes backwards (a reset) is listed under
``counter_resets`` and its fall is not subtracted. Gauges: min, mean, max.
The keys listed in SUMMARY_KEYS are documented and stable.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from typing import Any

from .. import catalog
from ..catalog import CONTAINER, HOST, PROCESS

# Stable keys of summary.json that scripts may rely on (more may be added).
SUMMARY_KEYS = (
    "exit_code",
    "elapsed_seconds",
    "container.cpu_seconds",
    "container.cpu_user_seconds",
    "container.cpu_system_seconds",
    "container.memory_peak_bytes",
    "container.io_read_bytes",
    "container.io_write_bytes",
    "container.network_receive_bytes",
    "container.network_transmit_bytes",
    "container.processes_max",
    "container.oom_kills",
    "container.cpu_throttled_seconds",
    *(f"host.cpu_mode_percent.{mode}" for mode in catalog.CPU_MODES_PARTITION),
    "processes",
)

TOP_PROCESSES = 10

_m = catalog.get  # short alias: every name below is checked against the catalog


def counter_increase(
    values: Iterable[float | None], from_zero: bool = False
) -> tuple[float | None, int]:
    """Return (total increase, number of resets) over a series of readings."""
    total = 0.0
    resets = 0
    previous: float | None = 0.0 if from_zero else None
    seen = False
    for value in values:
        if value is None:
            continue
        seen = True
        if previous is not None:
            if value >= previous:
                total += value - previous
            else:
                resets += 1
                total += value  # counted again from zero after the reset
        previous = value
    if not seen:
        return None, 0
    return total, resets


def gauge_stats(values: Iterable[float | None]) -> dict | None:
    present = [v for v in values if v is not None]
    if not present:
        return None
    return {
        "min": min(present),
        "mean": sum(present) / len(present),
        "max": max(present),
    }


def _series(samples: list[dict], level: str, name: str) -> list:
    return [s[level].get(name) for s in samples if isinstance(s.get(level), dict)]


def _group_series(
    samples: list[dict], level: str, group: str, name: str
) -> dict[Any, list]:
    """Return {label: readings}, one reading per sample that has the level,
    with None where the label is absent (a device or interface that appears
    or disappears during the run)."""
    out: dict[str, list] = {}
    count = 0
    for s in samples:
        data = s.get(level)
        if not isinstance(data, dict):
            continue
        for label, values in (data.get(group) or {}).items():
            series = out.setdefault(label, [None] * count)
            series.append(values.get(name))
        count += 1
        for series in out.values():
            if len(series) < count:
                series.append(None)
    return out


def _counts_from_zero(values: list, from_zero: bool) -> bool:
    """Tell whether a counter series starts from zero: the target's counters
    do, and so does a label absent from the window's first sample, because a
    device or interface that appears later starts counting at zero."""
    return from_zero or (bool(values) and values[0] is None)


def _group_total(
    samples: list[dict], level: str, group: str, name: str, from_zero: bool
) -> float | None:
    """Sum of a labelled counter's increases over all labels."""
    total = None
    for values in _group_series(samples, level, group, name).values():
        inc, _ = counter_increase(values, _counts_from_zero(values, from_zero))
        if inc is not None:
            total = (total or 0.0) + inc
    return total


def metric_deltas(
    samples: list[dict],
    container_from_zero: bool = False,
    network_from_zero: bool = False,
) -> tuple[dict, list[str]]:
    """Return {column name: delta or gauge stats} for every recorded metric.

    ``network_from_zero`` applies to the container's network counters, which
    start at zero only in a network namespace created with the container.
    """
    out: dict[str, dict] = {}
    resets: list[str] = []
    for level in (HOST, CONTAINER):
        for m in catalog.by_level(level):
            from_zero = level == CONTAINER and (
                network_from_zero if m.group == "net" else container_from_zero
            )
            series: dict[str | None, list]
            if m.group is None:
                series = {None: _series(samples, level, m.name)}
            else:
                series = _group_series(samples, level, m.group, m.name)
            for label, values in series.items():
                column = catalog.column_name(level, m.name, label)
                if m.is_counter:
                    start_at_zero = from_zero
                    if m.group is not None:
                        start_at_zero = _counts_from_zero(values, from_zero)
                    inc, n_resets = counter_increase(values, start_at_zero)
                    if inc is None:
                        continue
                    out[column] = {"kind": m.kind, "unit": m.unit, "delta": inc}
                    if n_resets:
                        resets.append(column)
                else:
                    stats = gauge_stats(values)
                    if stats is None:
                        continue
                    out[column] = {"kind": m.kind, "unit": m.unit, **stats}
    return out, resets


def cpu_mode_percent(samples: list[dict]) -> dict[str, float | None]:
    deltas = {}
    for mode in catalog.CPU_MODES_PARTITION:
        inc, _ = counter_increase(
            _series(samples, HOST, catalog.host_cpu_mode_metric(mode))
        )
        deltas[mode] = inc
    present = [v for v in deltas.values() if v is not None]
    total = sum(present)
    if not present or total <= 0:
        return {mode: None for mode in deltas}
    return {
        mode: None if v is None else round(100.0 * v / total, 3)
        for mode, v in deltas.items()
    }


def process_totals(samples: list[dict]) -> list[dict]:
    """Aggregate process rows per (pid, start time), busiest first.

    A process absent from the first sample started during the window, so it
    is counted from zero. One present in it is counted from that reading.
    """
    columns = catalog.PROCESS_COLUMNS
    index = {name: i for i, name in enumerate(columns)}
    rss_columns = (index["resident_memory_peak_bytes"], index["resident_memory_bytes"])
    state_column = index["state"]
    info: dict[tuple[int, float], dict] = {}
    first: dict[tuple, list] = {}
    last: dict[tuple, list] = {}
    peak_rss: dict[tuple, float] = {}
    initial = (
        {(r[0], r[1]) for r in (samples[0].get("processes") or ())}
        if samples
        else set()
    )
    for s in samples:
        for item in s.get("new_processes", ()):
            info[(item["pid"], item["start_time_seconds"])] = item
        for row in s.get("processes") or ():
            key = (row[0], row[1])
            first.setdefault(key, row)
            last[key] = row
            if row[state_column] == "Z":
                continue  # a zombie has no memory left: its 0 is not a reading
            for i in rss_columns:
                if row[i] is not None:
                    peak_rss[key] = max(peak_rss.get(key, 0), row[i])
    cpu_names = ("cpu_user_seconds_total", "cpu_system_seconds_total")
    io_names = (
        "read_bytes_total",
        "write_bytes_total",
        "rchar_bytes_total",
        "wchar_bytes_total",
    )
    out = []
    for key, end in last.items():
        start_row = first[key]
        from_zero = key not in initial

        def delta(name: str, start_row=start_row, end=end, from_zero=from_zero):
            i = index[name]
            base = 0 if from_zero else start_row[i]
            if end[i] is None or base is None:
                return None
            return max(end[i] - base, 0)

        user, system = (delta(n) for n in cpu_names)
        entry = {
            "pid": key[0],
            "name": end[index["name"]],
            "cmdline": info.get(key, {}).get("cmdline", ""),
            "start_time_seconds": key[1],
            "cpu_seconds": None
            if user is None or system is None
            else round(user + system, 6),
            "cpu_user_seconds": user,
            "cpu_system_seconds": system,
            "memory_peak_bytes": peak_rss.get(key),
        }
        for name in io_names:
            entry[name.replace("_total", "")] = delta(name)
        out.append(entry)
    out.sort(key=lambda e: e["cpu_seconds"] or 0, reverse=True)
    return out


def _max_of(stats: dict | None) -> float | None:
    return None if stats is None else stats["max"]


def summarize(meta: dict, samples: list[dict]) -> dict:
    """Compute summary.json for a run (or a window of samples of it)."""
    target = meta.get("target", {})
    # Counters start at zero at the run's start sample only; a window that
    # begins later (ctprof delta --from) counts from its own first sample.
    whole_run = bool(samples) and samples[0].get("kind") == "start"
    container_from_zero = whole_run and bool(target.get("counters_start_at_zero"))
    network_from_zero = whole_run and bool(target.get("network_counters_start_at_zero"))
    metrics, resets = metric_deltas(samples, container_from_zero, network_from_zero)

    def delta(level: str, name: str) -> float | None:
        _m(level, name)
        entry = metrics.get(catalog.column_name(level, name))
        return None if entry is None else entry["delta"]

    def gauge(level: str, name: str) -> dict | None:
        _m(level, name)
        entry = metrics.get(catalog.column_name(level, name))
        return None if entry is None else entry

    # The kernel's peak counts from the cgroup's creation. That is the run's
    # start only for cgroups made for the run, so otherwise (attach) the
    # window's peak is the highest usage sampled.
    lifetime_peak = _max_of(gauge(CONTAINER, "memory_peak_bytes"))
    usage_max = _max_of(gauge(CONTAINER, "memory_usage_bytes"))
    peak = lifetime_peak if container_from_zero else None
    if peak is None or (usage_max is not None and usage_max > peak):
        peak = usage_max
    elapsed = None
    if len(samples) >= 2:
        elapsed = round(samples[-1]["mono"] - samples[0]["mono"], 6)
    container = {
        "cpu_seconds": delta(CONTAINER, "cpu_usage_seconds_total"),
        "cpu_user_seconds": delta(CONTAINER, "cpu_user_seconds_total"),
        "cpu_system_seconds": delta(CONTAINER, "cpu_system_seconds_total"),
        "memory_peak_bytes": peak,
        "io_read_bytes": delta(CONTAINER, "io_read_bytes_total"),
        "io_write_bytes": delta(CONTAINER, "io_write_bytes_total"),
        "network_receive_bytes": _group_total(
            samples, CONTAINER, "net", "network_receive_bytes_total", network_from_zero
        ),
        "network_transmit_bytes": _group_total(
            samples, CONTAINER, "net", "network_transmit_bytes_total", network_from_zero
        ),
        "processes_max": _max_of(gauge(CONTAINER, "processes")),
        "oom_kills": delta(CONTAINER, "memory_oom_kills_total"),
        "cpu_throttled_seconds": delta(CONTAINER, "cpu_throttled_seconds_total"),
    }
    if not container_from_zero and lifetime_peak is not None:
        container["memory_peak_since_creation_bytes"] = lifetime_peak
    _scale_cpu_split(container)
    processes = process_totals(samples) if _has_level(samples, PROCESS) else []
    _fill_main_process(processes, meta)
    _io_from_main_process(container, meta, processes)
    return {
        "exit_code": meta.get("exit_code"),
        "elapsed_seconds": elapsed,
        "samples": len(samples),
        "missed_deadlines": meta.get("missed_deadlines"),
        "container": container,
        "host": {"cpu_mode_percent": cpu_mode_percent(samples)},
        "processes": processes[:TOP_PROCESSES],
        "counter_resets": resets,
        "metrics": metrics,
    }


def _scale_cpu_split(container: dict) -> None:
    """Scale user and system CPU so that they add up to the exact total.

    cgroup v1's cpuacct.usage_user and usage_sys count timer ticks, so their
    sum strays from the exact cpuacct.usage by a few percent. Like getrusage,
    the total is kept and only its split comes from the tick counts. On v2
    the two already add up and the scale is 1.
    """
    total = container.get("cpu_seconds")
    user = container.get("cpu_user_seconds")
    system = container.get("cpu_system_seconds")
    if total is None or user is None or system is None or user + system <= 0:
        return
    factor = total / (user + system)
    container["cpu_user_seconds"] = round(user * factor, 9)
    container["cpu_system_seconds"] = round(system * factor, 9)


def _fill_main_process(processes: list, meta: dict) -> None:
    """Give the command's main process its command line: it may be seen only
    as a zombie, whose /proc/PID/cmdline is empty."""
    main_pid = meta.get("target", {}).get("main_pid")
    command = meta.get("command")
    if main_pid is None or not isinstance(command, list):
        return
    for entry in processes:
        if entry["pid"] == main_pid and not entry.get("cmdline"):
            entry["cmdline"] = shlex.join(command)


def _io_from_main_process(container: dict, meta: dict, processes: list) -> None:
    """Fill container I/O from the command's main process when the cgroup has
    no working I/O counters.

    A parent's /proc/PID/io includes the I/O of every child it waited for,
    because the kernel adds it when the child is reaped. ctprof reads the main
    process as a zombie in the end sample. That covers each descendant whose
    chain of parents waited for it, but not orphans reparented elsewhere.
    """
    main_pid = meta.get("target", {}).get("main_pid")
    for entry in processes:
        if entry["pid"] == main_pid:
            main_io = (entry.get("read_bytes") or 0) + (entry.get("write_bytes") or 0)
            cgroup_io = container.get("io_read_bytes")
            if cgroup_io is not None:
                cgroup_io += container.get("io_write_bytes") or 0
            # blkio.throttle counters on v1 may read 0 for real I/O (they
            # count only while the queue has a throttling rule).
            if cgroup_io is not None and not (cgroup_io == 0 and main_io > 0):
                return
            container["io_read_bytes"] = entry.get("read_bytes")
            container["io_write_bytes"] = entry.get("write_bytes")
            container["io_source"] = "main process /proc/PID/io"
            return


def _has_level(samples: list[dict], level: str) -> bool:
    key = "processes" if level == PROCESS else level
    return any(key in s for s in samples)


def lookup(summary: dict, dotted: str):
    """Return a value of a summary by dotted key ("container.cpu_seconds")."""
    value: Any = summary
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value
