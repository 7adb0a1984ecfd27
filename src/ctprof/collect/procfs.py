"""Parsers for /proc files, one function per kernel file (formats in proc(5)).

Each ``parse_*`` function takes the file's bytes and the path it came from
(for error messages) and returns plain numbers keyed by the kernel's own field
names. Malformed text raises ParseError and nothing else.
"""

from __future__ import annotations

from ..errors import ParseError

Numbers = dict[str, float]


def _num(path: str, token: bytes) -> int:
    try:
        return int(token)
    except ValueError:
        raise ParseError(path, f"expected an integer, got {token[:40]!r}") from None


def _float(path: str, token: bytes) -> float:
    try:
        value = float(token)
    except ValueError:
        raise ParseError(path, f"expected a number, got {token[:40]!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ParseError(path, f"expected a finite number, got {token[:40]!r}")
    return value


_STAT_CPU_FIELDS = (
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
_STAT_SCALARS = (b"ctxt", b"processes", b"procs_running", b"procs_blocked", b"btime")


def parse_stat(data: bytes, path: str = "/proc/stat") -> Numbers:
    """Parse /proc/stat: aggregate CPU ticks ("cpu.user", ...) and counters.

    Older kernels have fewer CPU columns (steal from 2.6.11, guest from 2.6.24,
    guest_nice from 2.6.33); missing columns are left out, not set to 0.
    """
    out: Numbers = {}
    for line in data.splitlines():
        parts = line.split()
        if not parts:
            continue
        key = parts[0]
        if key == b"cpu":
            for name, token in zip(_STAT_CPU_FIELDS, parts[1:]):
                out["cpu." + name] = _num(path, token)
        elif key == b"intr":
            if len(parts) < 2:
                raise ParseError(path, "intr line has no total")
            out["intr"] = _num(path, parts[1])
        elif key in _STAT_SCALARS:
            if len(parts) != 2:
                raise ParseError(
                    path, f"expected one value after {key.decode(errors='replace')}"
                )
            out[key.decode()] = _num(path, parts[1])
    if "cpu.user" not in out:
        raise ParseError(path, "no aggregate cpu line")
    return out


def parse_stat_per_cpu(data: bytes, path: str = "/proc/stat") -> dict[str, Numbers]:
    """Parse the per-CPU lines of /proc/stat ("cpu0", "cpu1", ...)."""
    out: dict[str, Numbers] = {}
    for line in data.splitlines():
        parts = line.split()
        if parts and parts[0].startswith(b"cpu") and parts[0] != b"cpu":
            name = parts[0][3:].decode(errors="replace")
            out[name] = {f: _num(path, t) for f, t in zip(_STAT_CPU_FIELDS, parts[1:])}
    return out


def parse_loadavg(data: bytes, path: str = "/proc/loadavg") -> Numbers:
    parts = data.split()
    if len(parts) < 3:
        raise ParseError(path, f"expected at least 3 fields, got {len(parts)}")
    return {
        "load1": _float(path, parts[0]),
        "load5": _float(path, parts[1]),
        "load15": _float(path, parts[2]),
    }


def parse_key_value(data: bytes, path: str) -> Numbers:
    """Parse "key value" lines (/proc/vmstat, cgroup memory.stat, cpu.stat, ...)."""
    out: Numbers = {}
    for line in data.splitlines():
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2:
            raise ParseError(path, f"expected 'key value', got {line[:60]!r}")
        out[parts[0].decode(errors="replace")] = _num(path, parts[1])
    return out


def pick_values(
    data: bytes, path: str, keys: tuple[str, ...], separator: bytes
) -> Numbers:
    """Pick the first number of the lines that start with KEY + separator.

    For files such as /proc/vmstat ("pgfault 123", separator b" ") and
    /proc/meminfo ("MemTotal:  16314468 kB", separator b":") of which a
    sample needs a few of many lines: one substring search per key instead
    of splitting every line. Keys the kernel does not print are left out.
    """
    out: Numbers = {}
    for name in keys:
        token = b"\n" + name.encode() + separator
        at = data.find(token)
        if at < 0:
            if not data.startswith(token[1:]):
                continue
            at = -1
        start = at + len(token)
        end = data.find(b"\n", start)
        parts = data[start : end if end >= 0 else len(data)].split()
        if not parts:
            raise ParseError(path, f"{name} has no value")
        out[name] = _num(path, parts[0])
    return out


def parse_meminfo(data: bytes, path: str = "/proc/meminfo") -> Numbers:
    """Parse /proc/meminfo into kB values ("MemTotal": 16314468, ...)."""
    out: Numbers = {}
    for line in data.splitlines():
        key, sep, rest = line.partition(b":")
        if not sep:
            if line.strip():
                raise ParseError(path, f"line without ':' {line[:60]!r}")
            continue
        parts = rest.split()
        if not parts or len(parts) > 2:
            raise ParseError(path, f"expected 'Key: value [kB]', got {line[:60]!r}")
        out[key.strip().decode(errors="replace")] = _num(path, parts[0])
    if "MemTotal" not in out:
        raise ParseError(path, "no MemTotal line")
    return out


def parse_cpuinfo_mhz(data: bytes, path: str = "/proc/cpuinfo") -> Numbers:
    """Return the mean "cpu MHz" over all CPUs; empty when the kernel gives none.

    Some architectures (arm64) print no clock in /proc/cpuinfo at all.
    """
    values = []
    for line in data.splitlines():
        if line.startswith(b"cpu MHz"):
            _, sep, rest = line.partition(b":")
            if not sep:
                raise ParseError(path, f"cpu MHz line without ':' {line[:60]!r}")
            values.append(_float(path, rest.strip()))
    if not values:
        return {}
    return {"cpu MHz": sum(values) / len(values)}


def parse_pressure(data: bytes, path: str) -> Numbers:
    """Parse a PSI file: "some avg10=.. avg60=.. avg300=.. total=N" (+ "full")."""
    out: Numbers = {}
    for line in data.splitlines():
        parts = line.split()
        if not parts:
            continue
        kind = parts[0].decode(errors="replace")
        if kind not in ("some", "full"):
            raise ParseError(path, f"unknown PSI line {line[:60]!r}")
        for item in parts[1:]:
            key, sep, value = item.partition(b"=")
            if not sep:
                raise ParseError(path, f"expected key=value, got {item[:40]!r}")
            if key == b"total":
                out[kind + ".total"] = _num(path, value)
            else:
                out[kind + "." + key.decode(errors="replace")] = _float(path, value)
    return out


def parse_pressure_totals(data: bytes, path: str) -> Numbers:
    """Parse the "total=" µs counters of a PSI file ("some.total", "full.total").

    The per-sample path: the catalog records only the totals, and skipping
    the three averages of each line halves the parse.
    """
    out: Numbers = {}
    for line in data.splitlines():
        kind, _, rest = line.partition(b" ")
        if not kind:
            continue
        at = rest.find(b"total=")
        if kind not in (b"some", b"full") or at < 0:
            raise ParseError(path, f"unknown PSI line {line[:60]!r}")
        parts = rest[at + 6 :].split()
        if not parts:
            raise ParseError(path, f"total has no value in {line[:60]!r}")
        out[kind.decode() + ".total"] = _num(path, parts[0])
    return out


_DISK_FIELDS = (
    "reads_completed",
    "reads_merged",
    "sectors_read",
    "time_reading_ms",
    "writes_completed",
    "writes_merged",
    "sectors_written",
    "time_writing_ms",
    "ios_in_progress",
    "time_io_ms",
    "weighted_time_io_ms",
)


def parse_diskstats(data: bytes, path: str = "/proc/diskstats") -> dict[str, Numbers]:
    """Parse /proc/diskstats into per-device fields (iostats.rst names).

    Discard (4.18+) and flush (5.5+) columns follow the first 11 and are
    ignored here.
    """
    out: dict[str, Numbers] = {}
    for line in data.splitlines():
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 14:
            raise ParseError(path, f"expected at least 14 fields, got {len(parts)}")
        name = parts[2].decode(errors="replace")
        out[name] = {f: _num(path, t) for f, t in zip(_DISK_FIELDS, parts[3:14])}
    return out


_NET_FIELDS = (
    "receive_bytes",
    "receive_packets",
    "receive_errs",
    "receive_drop",
    "receive_fifo",
    "receive_frame",
    "receive_compressed",
    "receive_multicast",
    "transmit_bytes",
    "transmit_packets",
    "transmit_errs",
    "transmit_drop",
    "transmit_fifo",
    "transmit_colls",
    "transmit_carrier",
    "transmit_compressed",
)


def parse_net_dev(data: bytes, path: str = "/proc/net/dev") -> dict[str, Numbers]:
    """Parse /proc/net/dev: two header lines, then "iface: 16 counters"."""
    out: dict[str, Numbers] = {}
    for line in data.splitlines()[2:]:
        name, sep, rest = line.partition(b":")
        if not sep:
            if line.strip():
                raise ParseError(path, f"line without ':' {line[:60]!r}")
            continue
        parts = rest.split()
        if len(parts) != 16:
            raise ParseError(path, f"expected 16 counters, got {len(parts)}")
        iface = name.strip().decode(errors="replace")
        out[iface] = {f: _num(path, t) for f, t in zip(_NET_FIELDS, parts)}
    return out


def parse_pid_stat(data: bytes, path: str) -> list[bytes]:
    """Split /proc/PID/stat into fields numbered from 1 as in proc(5).

    The command name (field 2) is in parentheses and may contain spaces and
    ")" itself, so the text is split at the last ")".
    """
    open_at = data.find(b"(")
    close_at = data.rfind(b")")
    if open_at < 0 or close_at < open_at:
        raise ParseError(path, "no '(comm)' field")
    head = data[:open_at].split()
    rest = data[close_at + 1 :].split()
    if len(head) != 1 or len(rest) < 20:
        raise ParseError(
            path, f"expected at least 22 fields, got {len(head) + 1 + len(rest)}"
        )
    # Index 0 is unused so that fields[n] is proc(5)'s field n.
    return [b"", head[0], data[open_at + 1 : close_at], *rest]


def split_pid_stat(data: bytes, path: str) -> tuple[bytes, list[bytes]]:
    """Split /proc/PID/stat into the command name and fields 3, 4, ... .

    ``tail[n - 3]`` is proc(5)'s field n. This is parse_pid_stat without
    building the full list, for the per-process hot path.
    """
    open_at = data.find(b"(")
    close_at = data.rfind(b")")
    if open_at < 0 or close_at < open_at:
        raise ParseError(path, "no '(comm)' field")
    tail = data[close_at + 1 :].split()
    if len(tail) < 20:
        raise ParseError(path, f"expected at least 22 fields, got {len(tail) + 2}")
    return data[open_at + 1 : close_at], tail


def parse_pid_status(data: bytes, path: str, keys: tuple[str, ...]) -> Numbers:
    """Pick numeric fields of /proc/PID/status ("VmHWM:  1234 kB" → 1234).

    This runs for every process every sample, so each key is found with one
    substring search (pick_values) instead of splitting the file's ~55 lines.
    """
    return pick_values(data, path, keys, b":")


def parse_pid_io(data: bytes, path: str) -> Numbers:
    """Parse /proc/PID/io ("rchar: 123" lines)."""
    tokens = data.split()
    if len(tokens) % 2:
        raise ParseError(path, f"expected 'key: value' pairs, got {data[:60]!r}")
    out: Numbers = {}
    for key, value in zip(tokens[0::2], tokens[1::2]):
        if not key.endswith(b":"):
            raise ParseError(path, f"expected 'key:', got {key[:40]!r}")
        out[key[:-1].decode(errors="replace")] = _num(path, value)
    return out


def parse_cmdline(data: bytes) -> str:
    """Join /proc/PID/cmdline's NUL-separated arguments with spaces."""
    return data.rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")
