"""Runs seen as tasks: a single run, several runs, or the stages of a pipeline.

A pipeline run directory has ``meta.json`` with ``"kind": "pipeline"`` and one
complete run directory per stage. Its ``summary.json`` lists the stages in run
order under ``"stages"`` (name, directory, ...). When that summary is missing
(the pipeline's profiler was killed) the stage directories are taken in the
order of their first sample.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import catalog, store
from ..api import Run, load
from ..marks import read_marks
from .rates import process_cpu_frame, rate_frame

log = logging.getLogger(__name__)

PIPELINE = "pipeline"


@dataclass
class Task:
    """One run of a comparison, or one stage of a pipeline."""

    name: str
    run: Run
    # Base name of the directory the task was loaded from: the run itself, or
    # the pipeline that the stage belongs to.
    origin: str = ""


@dataclass
class Timeline:
    """The drawable series of a run or pipeline on one time axis."""

    frame: pd.DataFrame
    procs: pd.DataFrame
    # (stage name, start, end) in seconds since the first sample.
    spans: list[tuple[str, float, float]] = field(default_factory=list)
    # (mark name, time) in seconds since the first sample.
    marks: list[tuple[str, float]] = field(default_factory=list)
    # True when every task has at most two samples (delta mode).
    delta_mode: bool = False


def is_pipeline(meta: dict) -> bool:
    return meta.get("kind") == PIPELINE


def run_name(run: Run) -> str:
    return str(run.meta.get("name") or os.path.basename(run.directory.rstrip("/")))


def _stage_directories(directory: str) -> list[tuple[str, str]]:
    summary = store.read_summary(directory) or {}
    stages = summary.get("stages")
    if stages:
        return [
            (str(s.get("name")), os.path.join(directory, str(s.get("directory"))))
            for s in stages
        ]
    found = []
    for entry in sorted(os.listdir(directory)):
        path = os.path.join(directory, entry)
        if store.is_run_dir(path):
            found.append((entry, path))
    return found


def load_tasks(directory: str) -> list[Task]:
    """Return the stages of a pipeline directory, or the run itself as one task."""
    meta = store.read_meta(directory)
    origin = os.path.basename(os.path.abspath(directory))
    if not is_pipeline(meta):
        run = load(directory)
        return [Task(run_name(run), run, origin)]
    tasks = [
        Task(name, load(path), origin) for name, path in _stage_directories(directory)
    ]
    tasks.sort(key=lambda t: t.run.raw_samples[0]["mono"] if t.run.raw_samples else 0)
    return tasks


def _first_mono(tasks: list[Task]) -> float | None:
    firsts = [t.run.raw_samples[0]["mono"] for t in tasks if t.run.raw_samples]
    return min(firsts) if firsts else None


def _gap_row(columns) -> pd.DataFrame:
    """Return a row of NaN that separates two stages, so lines do not join them."""
    return pd.DataFrame({c: [np.nan] for c in columns})


def timeline(directory: str, top: int, tasks: list[Task] | None = None) -> Timeline:
    """Return the series of a run, or of a pipeline's stages one after another.

    Rates are computed within each stage, never across two stages, because
    each stage has its own cgroup whose counters start again. ``tasks`` are
    the loaded tasks of ``directory`` when the caller already has them.
    """
    if tasks is None:
        tasks = load_tasks(directory)
    # Without samples there is nothing to place, so 0 serves as the origin.
    t0 = _first_mono(tasks) or 0.0
    frames: list[pd.DataFrame] = []
    procs: list[pd.DataFrame] = []
    spans: list[tuple[str, float, float]] = []
    marks: list[tuple[str, float]] = []
    for task in tasks:
        samples = task.run.raw_samples
        if not samples:
            continue
        offset = samples[0]["mono"] - t0
        frame = rate_frame(samples)
        frame["elapsed_seconds"] += offset
        proc = process_cpu_frame(samples, top)
        proc["elapsed_seconds"] += offset
        if frames:
            frames.append(_gap_row(frame.columns))
            procs.append(_gap_row(proc.columns))
        frames.append(frame)
        procs.append(proc)
        if len(tasks) > 1:
            end = samples[-1]["mono"] - t0
            spans.append((task.name, offset, end))
        for mark in read_marks(task.run.directory):
            marks.append((mark.name, mark.mono - t0))
    if is_pipeline(store.read_meta(directory)):
        for mark in read_marks(directory):
            marks.append((mark.name, mark.mono - t0))
    delta = all(len(t.run.raw_samples) <= 2 for t in tasks)
    if not frames:
        empty = pd.DataFrame({"elapsed_seconds": []})
        return Timeline(empty, empty.copy(), spans, marks, delta)
    frame = pd.concat(frames, ignore_index=True)
    proc = pd.concat(procs, ignore_index=True)
    return Timeline(frame, proc, spans, marks, delta)


def task_labels(tasks: list[Task]) -> list[str]:
    """Return a distinct label per task: its name, followed by the directory it
    was loaded from when another task has the same name ("python3 (r2)"), and
    by a number when that is not enough either."""
    counts: dict[str, int] = {}
    for task in tasks:
        counts[task.name] = counts.get(task.name, 0) + 1
    labels = [
        f"{task.name} ({task.origin})" if counts[task.name] > 1 else task.name
        for task in tasks
    ]
    seen: dict[str, int] = {}
    unique = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        unique.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return unique


def task_table(tasks: list[Task]) -> pd.DataFrame:
    """Return one row per task: CPU mode %, CPU seconds, peak memory, I/O bytes.

    The "task" column contains the labels from task_labels, which are
    distinct, so charts keyed by them keep one bar per task.
    """
    rows = []
    for task, label in zip(tasks, task_labels(tasks)):
        summary = task.run.summary
        container = summary.get("container") or {}
        modes = (summary.get("host") or {}).get("cpu_mode_percent") or {}
        row: dict[str, object] = {"task": label}
        for mode in catalog.CPU_MODES_PARTITION:
            row[mode] = modes.get(mode)
        for key in (
            "cpu_seconds",
            "memory_peak_bytes",
            "io_read_bytes",
            "io_write_bytes",
        ):
            row[key] = container.get(key)
        rows.append(row)
    return pd.DataFrame(rows)
