"""Marks: named instants recorded by a profiled command (``ctprof mark NAME``).

A run directory may hold ``marks.jsonl``, one JSON object per line::

    {"name": "align-start", "t": 1733320000.123, "mono": 81234.567}

``t`` is the wall clock (time.time()) and ``mono`` the monotonic clock
(time.monotonic()). On Linux CLOCK_MONOTONIC is shared by every process on
the host, so ``mono`` lines up with the ``mono`` of the run's samples.
Each line is appended with a single write() on a file opened with O_APPEND,
so marks written at the same time by several processes do not interleave.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)

MARKS = "marks.jsonl"


@dataclass(frozen=True)
class Mark:
    """One named instant of a run."""

    name: str
    # Wall-clock seconds since the epoch.
    t: float
    # Monotonic-clock seconds, comparable with the samples' "mono".
    mono: float


def validate_mark_name(name: str) -> str:
    """Return ``name`` stripped, raising ValueError when it is empty or multi-line."""
    stripped = name.strip()
    if not stripped:
        raise ValueError("a mark name must not be empty")
    if "\n" in stripped or "\r" in stripped:
        raise ValueError(f"a mark name must be one line, got {name!r}")
    return stripped


def write_mark(run_dir: str, name: str) -> Mark:
    """Append a mark taken now to ``run_dir``/marks.jsonl and return it."""
    mark = Mark(validate_mark_name(name), time.time(), time.monotonic())
    line = json.dumps({"name": mark.name, "t": mark.t, "mono": mark.mono})
    data = (line + "\n").encode()
    fd = os.open(
        os.path.join(run_dir, MARKS),
        os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC,
        0o644,
    )
    try:
        # One write() per line: O_APPEND places the whole line at the end of
        # the file even when several processes mark at the same moment.
        os.write(fd, data)
    finally:
        os.close(fd)
    log.debug("mark %r written to %s", mark.name, run_dir)
    return mark


def read_marks(run_dir: str) -> list[Mark]:
    """Return the marks of a run directory in time order ([] when it has none).

    Unreadable lines (a partial last line, damaged JSON, missing fields) are
    skipped and counted in one warning.
    """
    path = os.path.join(run_dir, MARKS)
    try:
        with open(path, "rb") as f:
            lines = f.readlines()
    except FileNotFoundError:
        return []
    marks: list[Mark] = []
    bad = 0
    for raw in lines:
        mark = _parse_line(raw)
        if mark is None:
            bad += 1
        else:
            marks.append(mark)
    if bad:
        log.warning("%s: skipped %d unreadable line(s)", path, bad)
    marks.sort(key=lambda m: m.mono)
    return marks


def _parse_line(raw: bytes) -> Mark | None:
    try:
        item = json.loads(raw)
        return Mark(str(item["name"]), float(item["t"]), float(item["mono"]))
    except (ValueError, KeyError, TypeError):
        return None


def find_mark(marks: list[Mark], name: str) -> Mark | None:
    """Return the first mark called ``name``, or None."""
    for mark in marks:
        if mark.name == name:
            return mark
    return None
