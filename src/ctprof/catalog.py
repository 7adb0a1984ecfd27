"""The metric catalog: the one place that names every metric ctprof records.

Each entry gives the metric's name, level, kind, unit, description and the kernel
file and field it comes from. Collectors, the summary, exports, plots and the
README tables read this module; no other module spells a metric name.

Names follow the Prometheus conventions: snake_case, base units in the name, and
counters end in ``_total``. Kernel terms stay kernel terms (``pgmajfault``).
"""

from __future__ import annotations

from dataclasses import dataclass

HOST = "host"
CONTAINER = "container"
PROCESS = "process"
LEVELS = (HOST, CONTAINER, PROCESS)

COUNTER = "counter"
GAUGE = "gauge"
INFO = "info"

# /proc/diskstats counts sectors of 512 bytes whatever the device's own sector
# size (Documentation/admin-guide/iostats.rst).
SECTOR_BYTES = 512


@dataclass(frozen=True)
class Metric:
    """One recorded quantity."""

    name: str
    level: str
    kind: str
    unit: str
    description: str
    # Key of the parsed kernel source, e.g. "meminfo" or "cgroup_memory_stat".
    source: str = ""
    # Field name inside that source, as the kernel spells it.
    field: str = ""
    # Factor from the kernel's unit to the metric's unit (ticks, kB, µs, ...).
    scale: float = 1.0
    # Label group for per-device, per-interface or per-CPU metrics, else None.
    group: str | None = None

    @property
    def is_counter(self) -> bool:
        return self.kind == COUNTER


_KIB = 1024.0
_USEC = 1e-6
_NSEC = 1e-9
_MSEC = 1e-3


def _host(name, kind, unit, desc, source, field, scale=1.0, group=None):
    return Metric(name, HOST, kind, unit, desc, source, field, scale, group)


def _cont(name, kind, unit, desc, source="", field="", scale=1.0, group=None):
    return Metric(name, CONTAINER, kind, unit, desc, source, field, scale, group)


def _proc(name, kind, unit, desc, source, field, scale=1.0):
    return Metric(name, PROCESS, kind, unit, desc, source, field, scale)


# Scales that depend on the running kernel, resolved by the collectors with
# os.sysconf: -1 marks clock ticks (USER_HZ) and -2 marks pages.
TICKS = -1.0
PAGES = -2.0

# Host CPU modes, in /proc/stat order.
CPU_MODES = (
    "user",
    "nice",
    "system",
    "idle",
    "iowait",
    "irq",
    "softirq",
    "steal",
    "guest",
    "guest_nice",
)
# Modes that partition CPU time: guest and guest_nice are already counted in
# user and nice, so they are left out of percentages.
CPU_MODES_PARTITION = CPU_MODES[:8]


def host_cpu_mode_metric(mode: str) -> str:
    return f"cpu_{mode}_seconds_total"


_HOST_CPU = [
    _host(
        host_cpu_mode_metric(mode),
        COUNTER,
        "seconds",
        f"CPU time all CPUs spent in {mode} mode",
        "stat",
        f"cpu.{mode}",
        TICKS,
    )
    for mode in CPU_MODES
]

_HOST_OTHER = [
    _host(
        "context_switches_total", COUNTER, "count", "Context switches", "stat", "ctxt"
    ),
    _host("interrupts_total", COUNTER, "count", "Interrupts serviced", "stat", "intr"),
    _host(
        "forks_total",
        COUNTER,
        "count",
        "Processes and threads created",
        "stat",
        "processes",
    ),
    _host("procs_running", GAUGE, "count", "Tasks runnable", "stat", "procs_running"),
    _host(
        "procs_blocked", GAUGE, "count", "Tasks blocked on I/O", "stat", "procs_blocked"
    ),
    _host("load1", GAUGE, "tasks", "Load average over 1 minute", "loadavg", "load1"),
    _host("load5", GAUGE, "tasks", "Load average over 5 minutes", "loadavg", "load5"),
    _host(
        "load15", GAUGE, "tasks", "Load average over 15 minutes", "loadavg", "load15"
    ),
    _host(
        "memory_total_bytes", GAUGE, "bytes", "Usable RAM", "meminfo", "MemTotal", _KIB
    ),
    _host(
        "memory_free_bytes", GAUGE, "bytes", "Unused RAM", "meminfo", "MemFree", _KIB
    ),
    _host(
        "memory_available_bytes",
        GAUGE,
        "bytes",
        "RAM available for new work without swapping (kernel estimate)",
        "meminfo",
        "MemAvailable",
        _KIB,
    ),
    _host(
        "memory_buffers_bytes",
        GAUGE,
        "bytes",
        "Block device buffers",
        "meminfo",
        "Buffers",
        _KIB,
    ),
    _host(
        "memory_cached_bytes", GAUGE, "bytes", "Page cache", "meminfo", "Cached", _KIB
    ),
    _host(
        "memory_dirty_bytes",
        GAUGE,
        "bytes",
        "Dirty page cache",
        "meminfo",
        "Dirty",
        _KIB,
    ),
    _host(
        "memory_writeback_bytes",
        GAUGE,
        "bytes",
        "Page cache under writeback",
        "meminfo",
        "Writeback",
        _KIB,
    ),
    _host(
        "swap_total_bytes", GAUGE, "bytes", "Swap space", "meminfo", "SwapTotal", _KIB
    ),
    _host(
        "swap_free_bytes",
        GAUGE,
        "bytes",
        "Unused swap space",
        "meminfo",
        "SwapFree",
        _KIB,
    ),
    _host(
        "pgfault_total",
        COUNTER,
        "count",
        "Page faults, minor and major",
        "vmstat",
        "pgfault",
    ),
    _host(
        "pgmajfault_total",
        COUNTER,
        "count",
        "Major page faults (needed I/O)",
        "vmstat",
        "pgmajfault",
    ),
    _host("pswpin_total", COUNTER, "pages", "Pages swapped in", "vmstat", "pswpin"),
    _host("pswpout_total", COUNTER, "pages", "Pages swapped out", "vmstat", "pswpout"),
    _host(
        "cpu_frequency_hertz",
        GAUGE,
        "hertz",
        "Mean current CPU clock over all CPUs",
        "cpuinfo",
        "cpu MHz",
        1e6,
    ),
]

# PSI: Documentation/accounting/psi.rst; "total" is cumulative stall time in µs.
# /proc/pressure exists from Linux 4.20 with CONFIG_PSI; "full" for cpu from 5.13.
PSI_RESOURCES = ("cpu", "memory", "io")
PSI_KINDS = ("some", "full")


def _psi(make, level_desc):
    return [
        make(
            f"pressure_{res}_{kind}_seconds_total",
            COUNTER,
            "seconds",
            f"Time {level_desc} tasks stalled on {res} ({kind})",
            f"pressure_{res}",
            f"{kind}.total",
            _USEC,
        )
        for res in PSI_RESOURCES
        for kind in PSI_KINDS
    ]


_HOST_PSI = _psi(_host, "host")

# /proc/diskstats, fields as named in Documentation/admin-guide/iostats.rst.
_HOST_DISK = [
    _host(
        "disk_reads_completed_total",
        COUNTER,
        "count",
        "Reads completed",
        "diskstats",
        "reads_completed",
        group="disk",
    ),
    _host(
        "disk_reads_merged_total",
        COUNTER,
        "count",
        "Adjacent reads merged",
        "diskstats",
        "reads_merged",
        group="disk",
    ),
    _host(
        "disk_read_bytes_total",
        COUNTER,
        "bytes",
        "Bytes read",
        "diskstats",
        "sectors_read",
        SECTOR_BYTES,
        "disk",
    ),
    _host(
        "disk_read_time_seconds_total",
        COUNTER,
        "seconds",
        "Time spent reading",
        "diskstats",
        "time_reading_ms",
        _MSEC,
        "disk",
    ),
    _host(
        "disk_writes_completed_total",
        COUNTER,
        "count",
        "Writes completed",
        "diskstats",
        "writes_completed",
        group="disk",
    ),
    _host(
        "disk_writes_merged_total",
        COUNTER,
        "count",
        "Adjacent writes merged",
        "diskstats",
        "writes_merged",
        group="disk",
    ),
    _host(
        "disk_written_bytes_total",
        COUNTER,
        "bytes",
        "Bytes written",
        "diskstats",
        "sectors_written",
        SECTOR_BYTES,
        "disk",
    ),
    _host(
        "disk_write_time_seconds_total",
        COUNTER,
        "seconds",
        "Time spent writing",
        "diskstats",
        "time_writing_ms",
        _MSEC,
        "disk",
    ),
    _host(
        "disk_io_now",
        GAUGE,
        "count",
        "I/Os in flight",
        "diskstats",
        "ios_in_progress",
        group="disk",
    ),
    _host(
        "disk_io_time_seconds_total",
        COUNTER,
        "seconds",
        "Time the device had I/O in flight",
        "diskstats",
        "time_io_ms",
        _MSEC,
        "disk",
    ),
    _host(
        "disk_io_time_weighted_seconds_total",
        COUNTER,
        "seconds",
        "I/O time weighted by I/Os in flight",
        "diskstats",
        "weighted_time_io_ms",
        _MSEC,
        "disk",
    ),
]

# /proc/net/dev columns (receive then transmit). The same metrics serve the
# container level, read from a member process's /proc/PID/net/dev.
NET_FIELDS = (
    ("receive_bytes", "Bytes received"),
    ("receive_packets", "Packets received"),
    ("receive_errs", "Receive errors"),
    ("receive_drop", "Received packets dropped"),
    ("transmit_bytes", "Bytes sent"),
    ("transmit_packets", "Packets sent"),
    ("transmit_errs", "Transmit errors"),
    ("transmit_drop", "Packets dropped on transmit"),
)


def _net(make):
    return [
        make(
            f"network_{field}_total",
            COUNTER,
            "bytes" if field.endswith("bytes") else "count",
            desc + " per interface",
            "net_dev",
            field,
            group="net",
        )
        for field, desc in NET_FIELDS
    ]


_HOST_NET = _net(_host)

# Container level. "source" names the logical kernel source; the cgroup reader
# maps it to the v1 or v2 file (see collect/cgroupfs.py for the file names).
_CONT = [
    _cont(
        "cpu_usage_seconds_total",
        COUNTER,
        "seconds",
        "CPU time used by the cgroup",
        "cg_cpu",
        "usage",
    ),
    _cont(
        "cpu_user_seconds_total",
        COUNTER,
        "seconds",
        "CPU time in user mode",
        "cg_cpu",
        "user",
    ),
    _cont(
        "cpu_system_seconds_total",
        COUNTER,
        "seconds",
        "CPU time in kernel mode",
        "cg_cpu",
        "system",
    ),
    _cont(
        "cpu_usage_per_cpu_seconds_total",
        COUNTER,
        "seconds",
        "CPU time used on each CPU (cgroup v1 cpuacct only)",
        "cg_percpu",
        "usage",
        group="cpu",
    ),
    _cont(
        "cpu_periods_total",
        COUNTER,
        "count",
        "CFS enforcement periods elapsed",
        "cg_throttle",
        "nr_periods",
    ),
    _cont(
        "cpu_throttled_periods_total",
        COUNTER,
        "count",
        "Periods in which the cgroup was throttled",
        "cg_throttle",
        "nr_throttled",
    ),
    _cont(
        "cpu_throttled_seconds_total",
        COUNTER,
        "seconds",
        "Time the cgroup was throttled",
        "cg_throttle",
        "throttled",
    ),
    _cont(
        "cpu_quota_seconds",
        GAUGE,
        "seconds",
        "CFS quota per period; null when unlimited",
        "cg_cpu_limit",
        "quota",
    ),
    _cont(
        "cpu_period_seconds",
        GAUGE,
        "seconds",
        "CFS period length",
        "cg_cpu_limit",
        "period",
    ),
    _cont(
        "cpuset_cpus", GAUGE, "count", "CPUs the cgroup may run on", "cg_cpuset", "cpus"
    ),
    _cont(
        "memory_usage_bytes",
        GAUGE,
        "bytes",
        "Memory charged to the cgroup, page cache included",
        "cg_memory",
        "usage",
    ),
    _cont(
        "memory_working_set_bytes",
        GAUGE,
        "bytes",
        "Usage minus inactive file cache, as docker stats and cAdvisor compute it",
        "cg_memory",
        "working_set",
    ),
    _cont(
        "memory_peak_bytes",
        GAUGE,
        "bytes",
        "Highest usage since the cgroup was created",
        "cg_memory",
        "peak",
    ),
    _cont(
        "memory_limit_bytes",
        GAUGE,
        "bytes",
        "Memory limit; null when unlimited",
        "cg_memory",
        "limit",
    ),
    _cont(
        "memory_rss_bytes",
        GAUGE,
        "bytes",
        "Anonymous memory (rss on v1, anon on v2)",
        "cg_memory",
        "rss",
    ),
    _cont(
        "memory_cache_bytes",
        GAUGE,
        "bytes",
        "File-backed page cache",
        "cg_memory",
        "cache",
    ),
    _cont(
        "memory_swap_bytes",
        GAUGE,
        "bytes",
        "Swap used by the cgroup",
        "cg_memory",
        "swap",
    ),
    _cont(
        "memory_pgfault_total",
        COUNTER,
        "count",
        "Page faults in the cgroup",
        "cg_memory",
        "pgfault",
    ),
    _cont(
        "memory_pgmajfault_total",
        COUNTER,
        "count",
        "Major page faults in the cgroup",
        "cg_memory",
        "pgmajfault",
    ),
    _cont(
        "memory_oom_events_total",
        COUNTER,
        "count",
        "Times the cgroup hit its limit and ran the OOM killer",
        "cg_memory",
        "oom",
    ),
    _cont(
        "memory_oom_kills_total",
        COUNTER,
        "count",
        "Processes killed by the OOM killer",
        "cg_memory",
        "oom_kill",
    ),
    _cont(
        "io_read_bytes_total",
        COUNTER,
        "bytes",
        "Bytes read from block devices",
        "cg_io_sum",
        "rbytes",
    ),
    _cont(
        "io_write_bytes_total",
        COUNTER,
        "bytes",
        "Bytes written to block devices",
        "cg_io_sum",
        "wbytes",
    ),
    _cont(
        "io_reads_total",
        COUNTER,
        "count",
        "Read operations on block devices",
        "cg_io_sum",
        "rios",
    ),
    _cont(
        "io_writes_total",
        COUNTER,
        "count",
        "Write operations on block devices",
        "cg_io_sum",
        "wios",
    ),
    _cont(
        "io_device_read_bytes_total",
        COUNTER,
        "bytes",
        "Bytes read per device",
        "cg_io",
        "rbytes",
        group="io",
    ),
    _cont(
        "io_device_write_bytes_total",
        COUNTER,
        "bytes",
        "Bytes written per device",
        "cg_io",
        "wbytes",
        group="io",
    ),
    _cont(
        "io_device_reads_total",
        COUNTER,
        "count",
        "Read operations per device",
        "cg_io",
        "rios",
        group="io",
    ),
    _cont(
        "io_device_writes_total",
        COUNTER,
        "count",
        "Write operations per device",
        "cg_io",
        "wios",
        group="io",
    ),
    _cont(
        "pids_current",
        GAUGE,
        "count",
        "Tasks (threads) in the cgroup",
        "cg_pids",
        "current",
    ),
    _cont(
        "pids_limit",
        GAUGE,
        "count",
        "Task limit; null when unlimited",
        "cg_pids",
        "max",
    ),
    _cont("processes", GAUGE, "count", "Processes in the cgroup", "cg_procs", "count"),
]

_CONT_PSI = _psi(_cont, "container")
_CONT_NET = _net(_cont)

# Process level: one row per process per sample. Fields of /proc/PID/stat are
# numbered as in proc(5); "status" and "io" fields are the kernel's key names.

_PROC = [
    _proc("ppid", GAUGE, "pid", "Parent process id", "pid_stat", "4"),
    _proc(
        "state", INFO, "", "Scheduler state letter (R, S, D, Z, ...)", "pid_stat", "3"
    ),
    _proc("threads", GAUGE, "count", "Threads in the process", "pid_stat", "20"),
    _proc(
        "cpu_user_seconds_total",
        COUNTER,
        "seconds",
        "CPU time in user mode",
        "pid_stat",
        "14",
        TICKS,
    ),
    _proc(
        "cpu_system_seconds_total",
        COUNTER,
        "seconds",
        "CPU time in kernel mode",
        "pid_stat",
        "15",
        TICKS,
    ),
    _proc(
        "cpu_children_user_seconds_total",
        COUNTER,
        "seconds",
        "User CPU of waited-for children",
        "pid_stat",
        "16",
        TICKS,
    ),
    _proc(
        "cpu_children_system_seconds_total",
        COUNTER,
        "seconds",
        "System CPU of waited-for children",
        "pid_stat",
        "17",
        TICKS,
    ),
    _proc(
        "blkio_delay_seconds_total",
        COUNTER,
        "seconds",
        "Time waiting for block I/O (needs delay accounting)",
        "pid_stat",
        "42",
        TICKS,
    ),
    _proc(
        "minor_faults_total", COUNTER, "count", "Minor page faults", "pid_stat", "10"
    ),
    _proc(
        "major_faults_total", COUNTER, "count", "Major page faults", "pid_stat", "12"
    ),
    _proc(
        "virtual_memory_bytes", GAUGE, "bytes", "Virtual memory size", "pid_stat", "23"
    ),
    _proc(
        "resident_memory_bytes",
        GAUGE,
        "bytes",
        "Resident set size",
        "pid_stat",
        "24",
        PAGES,
    ),
    _proc(
        "resident_memory_peak_bytes",
        GAUGE,
        "bytes",
        "Peak resident set size (VmHWM)",
        "pid_status",
        "VmHWM",
        _KIB,
    ),
    _proc(
        "voluntary_ctxt_switches_total",
        COUNTER,
        "count",
        "Voluntary context switches",
        "pid_status",
        "voluntary_ctxt_switches",
    ),
    _proc(
        "nonvoluntary_ctxt_switches_total",
        COUNTER,
        "count",
        "Involuntary context switches",
        "pid_status",
        "nonvoluntary_ctxt_switches",
    ),
    _proc(
        "rchar_bytes_total",
        COUNTER,
        "bytes",
        "Bytes read by read-like syscalls",
        "pid_io",
        "rchar",
    ),
    _proc(
        "wchar_bytes_total",
        COUNTER,
        "bytes",
        "Bytes written by write-like syscalls",
        "pid_io",
        "wchar",
    ),
    _proc("syscr_total", COUNTER, "count", "Read-like syscalls", "pid_io", "syscr"),
    _proc("syscw_total", COUNTER, "count", "Write-like syscalls", "pid_io", "syscw"),
    _proc(
        "read_bytes_total",
        COUNTER,
        "bytes",
        "Bytes fetched from storage",
        "pid_io",
        "read_bytes",
    ),
    _proc(
        "write_bytes_total",
        COUNTER,
        "bytes",
        "Bytes sent to storage (page cache dirtied)",
        "pid_io",
        "write_bytes",
    ),
]

# Identity columns that precede the metrics in every process row.
PROCESS_ID_COLUMNS = ("pid", "start_time_seconds", "name")

HOST_METRICS: tuple[Metric, ...] = tuple(
    _HOST_CPU + _HOST_OTHER + _HOST_PSI + _HOST_DISK + _HOST_NET
)
CONTAINER_METRICS: tuple[Metric, ...] = tuple(_CONT + _CONT_PSI + _CONT_NET)
PROCESS_METRICS: tuple[Metric, ...] = tuple(_PROC)
ALL_METRICS: tuple[Metric, ...] = HOST_METRICS + CONTAINER_METRICS + PROCESS_METRICS
PROCESS_COLUMNS: tuple[str, ...] = PROCESS_ID_COLUMNS + tuple(
    m.name for m in PROCESS_METRICS
)

_BY_KEY = {(m.level, m.name): m for m in ALL_METRICS}


def get(level: str, name: str) -> Metric:
    """Return the catalog entry for a metric, raising KeyError when unknown."""
    return _BY_KEY[(level, name)]


def by_level(level: str) -> tuple[Metric, ...]:
    return {HOST: HOST_METRICS, CONTAINER: CONTAINER_METRICS, PROCESS: PROCESS_METRICS}[
        level
    ]


def column_name(level: str, name: str, label: str | None = None) -> str:
    """Return the flat column name used in DataFrames and exports."""
    if label is None:
        return f"{level}.{name}"
    return f"{level}.{name}[{label}]"


def parse_column_name(column: str) -> tuple[str, str, str | None]:
    """Split a flat column name into (level, metric name, label or None)."""
    level, _, rest = column.partition(".")
    if rest.endswith("]") and "[" in rest:
        name, _, label = rest[:-1].partition("[")
        return level, name, label
    return level, rest, None


def metric_for_column(column: str) -> Metric | None:
    level, name, _ = parse_column_name(column)
    return _BY_KEY.get((level, name))
