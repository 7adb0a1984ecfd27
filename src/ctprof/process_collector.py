"""Process level: /proc/PID/stat, status and io for each pid of the target.

This is the profiler's hot path: it runs for every process every sample. Each
process keeps its /proc descriptors open between samples, because procfs
regenerates a file on every read from offset 0 and pread re-reads it. A
process that has not run since the previous sample reuses its previous row
after two small reads, instead of three larger reads and their parsing.

The parsing is hand-written because it is measurably faster. For 91 processes
on a 2-core VM (Linux 6.18), one pass took 0.6-0.9 ms here, medians of 100.
The same fields through psutil took 16-22 ms: Process.oneshot() with
cpu_times, memory_info, io_counters, num_ctx_switches, status, ppid, name and
num_threads.

When the C extension ctprof._procread is built, it does the reads, the
reuse check and the parsing of one process in one call, with the same rows
and errors as the Python code here. CTPROF_NATIVE=0 in the environment
selects the Python code.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable
from typing import Any

from . import catalog
from .collect import procfs
from .collectors import CLOCK_TICKS, resolve_scale, scaled
from .errors import ParseError

log = logging.getLogger(__name__)

_STATUS_KEYS = tuple(
    m.field for m in catalog.PROCESS_METRICS if m.source == "pid_status"
)
_IO_UNREADABLE = "/proc/PID/io is readable only by the process owner or root"
#: Environment variable; "0" makes ProcessCollector read rows in Python even
#: when the C extension ctprof._procread is built.
NATIVE_ENV = "CTPROF_NATIVE"
# Errors of a /proc/PID file whose process has exited (ESRCH once it is reaped).
_GONE = (errno.ESRCH, errno.ENOENT)
_READ_SIZE = 65536

_STAT = 0
_STATUS = 1
_IO = 2
# Index of proc(5) field 22 (starttime) and field 20 (num_threads) in
# split_pid_stat's tail, which starts at field 3.
_START_TIME = 22 - 3
_NUM_THREADS = 20 - 3


def _row_plan() -> list[tuple[int, Any, float | None]]:
    """Return (source, key, scale) per process metric in catalog order.

    For /proc/PID/stat the key is the index in split_pid_stat's tail, and the
    scale is None for text fields. For status and io the key is the field name.
    """
    sources = {"pid_stat": _STAT, "pid_status": _STATUS, "pid_io": _IO}
    plan: list[tuple[int, Any, float | None]] = []
    for m in catalog.PROCESS_METRICS:
        source = sources[m.source]
        if source == _STAT:
            scale = None if m.kind == catalog.INFO else resolve_scale(m.scale)
            plan.append((source, int(m.field) - 3, scale))
        else:
            plan.append((source, m.field, resolve_scale(m.scale)))
    return plan


def _native_reader(boot_time: float) -> Any | None:
    """Return a ctprof._procread.Reader, or None to use the Python reader."""
    if os.environ.get(NATIVE_ENV, "1") == "0":
        log.debug("%s=0: process rows are read in Python", NATIVE_ENV)
        return None
    try:
        from . import _procread  # type: ignore[attr-defined]
    except ImportError as exc:
        log.debug("C process reader not built (%s), so rows are read in Python", exc)
        return None
    return _procread.Reader(
        _row_plan(), _STATUS_KEYS, boot_time, CLOCK_TICKS, ParseError, scaled
    )


def _open(path: str) -> int:
    return os.open(path, os.O_RDONLY | os.O_CLOEXEC)


class _ProcessFiles:
    """Open descriptors of one process's /proc files and its last reading."""

    __slots__ = ("base", "stat", "status", "io", "schedstat", "last", "row")

    def __init__(self, base: str, with_io: bool) -> None:
        self.base = base
        self.stat = self.status = self.io = self.schedstat = -1
        # (schedstat bytes, stat bytes) of the row in ``row``, when reusable.
        self.last: tuple[bytes, bytes] | None = None
        self.row: list | None = None
        try:
            self.stat = _open(base + "stat")
            self.status = _open(base + "status")
        except OSError:
            self.close()
            raise
        if with_io:
            try:
                self.io = _open(base + "io")
            except PermissionError:
                self.close()
                raise
            except OSError:
                self.io = -1
        try:
            # /proc/PID/schedstat needs CONFIG_SCHED_INFO; without it every
            # sample reads the process in full.
            self.schedstat = _open(base + "schedstat")
        except OSError:
            self.schedstat = -1

    def close(self) -> None:
        for fd in (self.stat, self.status, self.io, self.schedstat):
            if fd >= 0:
                os.close(fd)
        self.stat = self.status = self.io = self.schedstat = -1


class ProcessCollector:
    """Process level: /proc/PID/stat, status and io for each pid of the target.

    A process that exits between listing and reading is skipped. Each row
    follows catalog.PROCESS_COLUMNS; a process's command line is reported once,
    in ``new_processes``, the first time its (pid, start time, name) is seen.
    """

    def __init__(
        self, proc_root: str = "/proc", boot_time: float | None = None
    ) -> None:
        self.proc_root = proc_root
        self.unavailable: dict[str, str] = {}
        self._plan = _row_plan()
        self._seen: set[tuple[int, float, str]] = set()
        self._files: dict[int, _ProcessFiles] = {}
        if boot_time is None:
            with open(os.path.join(proc_root, "stat"), "rb") as f:
                boot_time = procfs.parse_stat(f.read()).get("btime", 0.0)
        self.boot_time = boot_time
        self._io_denied = False
        #: Reuse the row of a process that has not run since the last sample.
        #: The benchmark turns this off to time the full read of every process.
        self.reuse_unchanged = True
        #: Rows reused so far.
        self.reused = 0
        self._native = _native_reader(self.boot_time)
        #: "native" when ctprof._procread reads the rows, else "python".
        self.reader = "python" if self._native is None else "native"
        self._read: Callable[[int, _ProcessFiles, list[dict]], list] = (
            self._read_python if self._native is None else self._read_native
        )

    def collect(self, pids: list[int]) -> tuple[list[list], list[dict]]:
        rows: list[list] = []
        new: list[dict] = []
        alive: set[int] = set()
        for pid in pids:
            row = self._one(pid, new)
            if row is not None:
                rows.append(row)
                alive.add(pid)
        for gone in [pid for pid in self._files if pid not in alive]:
            self._files.pop(gone).close()
        return rows, new

    def close(self) -> None:
        for files in self._files.values():
            files.close()
        self._files.clear()

    def _one(self, pid: int, new: list[dict]) -> list | None:
        files = self._files.get(pid)
        if files is not None:
            try:
                return self._read(pid, files, new)
            except OSError as exc:
                # The pid may belong to a new process since the last sample:
                # the old descriptors then fail with ESRCH; reopen once.
                self._files.pop(pid).close()
                if exc.errno not in _GONE:
                    raise
        files = self._open(pid)
        if files is None:
            return None
        self._files[pid] = files
        try:
            return self._read(pid, files, new)
        except OSError as exc:
            self._files.pop(pid).close()
            if exc.errno in _GONE:
                return None
            raise

    def _open(self, pid: int) -> _ProcessFiles | None:
        base = f"{self.proc_root}/{pid}/"
        try:
            return _ProcessFiles(base, not self._io_denied)
        except PermissionError as exc:
            if exc.filename != base + "io":
                raise
            self._deny_io()
            return self._open(pid)
        except OSError as exc:
            if exc.errno in _GONE:
                return None
            raise

    def _deny_io(self) -> None:
        self._io_denied = True
        for m in catalog.PROCESS_METRICS:
            if m.source == "pid_io":
                self.unavailable[m.name] = _IO_UNREADABLE

    def _read_python(self, pid: int, files: _ProcessFiles, new: list[dict]) -> list:
        schedstat = b""
        if files.schedstat >= 0:
            schedstat = os.pread(files.schedstat, _READ_SIZE, 0)
        stat_data = os.pread(files.stat, _READ_SIZE, 0)
        if (
            self.reuse_unchanged
            and files.last is not None
            and files.last == (schedstat, stat_data)
        ):
            # The process has not been on a CPU since the previous sample
            # (same run time in ns and same number of time slices). It is
            # single-threaded, so status and io cannot have changed either.
            # stat is still read because reclaim can shrink the RSS of a
            # sleeping process.
            # NOTE: a task that shares the memory map without being a thread
            # (clone with CLONE_VM only) could raise VmHWM unseen here.
            self.reused += 1
            return list(files.row)  # type: ignore[arg-type]
        status_data = os.pread(files.status, _READ_SIZE, 0)
        io_data = self._read_io(files)
        row, single_thread = self._parse(
            pid, files.base, stat_data, status_data, io_data
        )
        if schedstat and single_thread:
            files.last = (schedstat, stat_data)
            files.row = row
        else:
            files.last = files.row = None
        return self._note_new(files.base, row, new)

    def _read_native(self, pid: int, files: _ProcessFiles, new: list[dict]) -> list:
        """Do what _read_python does, in one call of the C reader."""
        last = files.last if self.reuse_unchanged else None
        args = (files.stat, files.status, files.io, files.schedstat, last)
        try:
            result = self._native.read(pid, files.base, *args)  # type: ignore[union-attr]
        except PermissionError as exc:
            if exc.filename != files.base + "io":
                raise
            self._deny_io()
            os.close(files.io)
            files.io = -1
            args = (files.stat, files.status, -1, files.schedstat, last)
            result = self._native.read(pid, files.base, *args)  # type: ignore[union-attr]
        if result is None:
            self.reused += 1
            return list(files.row)  # type: ignore[arg-type]
        row, files.last = result
        files.row = None if files.last is None else row
        return self._note_new(files.base, row, new)

    def _note_new(self, base: str, row: list, new: list[dict]) -> list:
        """Describe the row's process in ``new`` the first time it is seen."""
        key = (row[0], row[1], row[2])
        if key not in self._seen:
            self._seen.add(key)
            new.append(self._describe(base, key))
        return list(row)

    def _parse(
        self,
        pid: int,
        base: str,
        stat_data: bytes,
        status_data: bytes,
        io_data: bytes | None,
    ) -> tuple[list, bool]:
        """Build a row from the files' bytes, with io_data None when io is not read.

        Return the row and whether the process has a single thread.
        """
        io = {} if io_data is None else procfs.parse_pid_io(io_data, base + "io")
        comm, tail = procfs.split_pid_stat(stat_data, base + "stat")
        status = procfs.parse_pid_status(status_data, base + "status", _STATUS_KEYS)
        name = comm.decode(errors="replace")
        try:
            row = self._row(pid, name, tail, status, io)
        except ValueError:
            detail = f"expected integer fields, got {stat_data[:80]!r}"
            raise ParseError(base + "stat", detail) from None
        except OverflowError:
            # A number of more than 308 digits, scaled by a float.
            detail = f"a field is too large for a float, got {stat_data[:80]!r}"
            raise ParseError(base + "stat", detail) from None
        return row, tail[_NUM_THREADS] == b"1"

    def _read_io(self, files: _ProcessFiles) -> bytes | None:
        if files.io < 0:
            return None
        try:
            return os.pread(files.io, _READ_SIZE, 0)
        except PermissionError:
            self._deny_io()
            os.close(files.io)
            files.io = -1
            return None

    @staticmethod
    def _describe(base: str, key: tuple[int, float, str]) -> dict:
        try:
            with open(base + "cmdline", "rb") as f:
                cmdline = procfs.parse_cmdline(f.read())
        except OSError:
            cmdline = ""
        pid, start, name = key
        return {
            "pid": pid,
            "start_time_seconds": start,
            "name": name,
            "cmdline": cmdline,
        }

    def _row(
        self, pid: int, name: str, tail: list[bytes], status: dict, io: dict
    ) -> list:
        """Build one row in catalog.PROCESS_COLUMNS order."""
        start = round(self.boot_time + int(tail[_START_TIME]) / CLOCK_TICKS, 2)
        row: list = [pid, start, name]
        append = row.append
        for source, key, scale in self._plan:
            if source == _STAT:
                if key >= len(tail):
                    append(None)  # field 42 (blkio delay) is from Linux 2.6.18
                elif scale is None:
                    append(tail[key].decode(errors="replace"))
                elif scale == 1:
                    append(int(tail[key]))
                else:
                    append(scaled(int(tail[key]), scale))
            else:
                value = (status if source == _STATUS else io).get(key)
                append(None if value is None else scaled(value, scale))  # type: ignore[arg-type]
        return row
