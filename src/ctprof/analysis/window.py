"""Windows of a run: from a point to a point, and the totals over them (the delta).

A point is seconds since the run's first sample, a mark name (marks.jsonl) or a
stage name of a pipeline (its start for ``--from``, its end for ``--to``). A
window contains the samples taken inside it, and its totals are computed by
analysis/summary.py exactly as for summary.json, so a counter's delta is its
last reading in the window minus its first.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from ..errors import UsageError
from ..marks import read_marks
from .summary import summarize
from .tasks import Task, load_tasks

log = logging.getLogger(__name__)

# Samples are stamped to the microsecond, so a point typed as a sample's
# printed time must still include that sample.
TOLERANCE_SECONDS = 1e-6


@dataclass
class Window:
    """The part of one task's samples that lies inside a window."""

    task: Task
    samples: list[dict]
    # Offset of the task's first sample from the first sample of the run.
    offset: float


def first_mono(tasks: list[Task], directory: str) -> float:
    firsts = [t.run.raw_samples[0]["mono"] for t in tasks if t.run.raw_samples]
    if not firsts:
        raise UsageError(
            f"{directory} contains no samples (the profiler stopped before its "
            "first one), so it has no totals; record the run again"
        )
    return min(firsts)


MARK = "mark"
STAGE = "stage"


def named_points(tasks: list[Task], directory: str, t0: float) -> dict:
    """Return {(kind, name): (start, end)} for every mark and stage, in seconds.

    A mark name that occurs more than once (a loop that marks each pass)
    names its first occurrence.
    """
    points: dict[tuple[str, str], tuple[float, float]] = {}
    directories = [t.run.directory for t in tasks]
    if directory not in directories:
        directories.append(directory)
    for run_dir in directories:
        for mark in read_marks(run_dir):
            x = mark.mono - t0
            key = (MARK, mark.name)
            if key not in points or x < points[key][0]:
                points[key] = (x, x)
    if len(tasks) > 1:
        for task in tasks:
            samples = task.run.raw_samples
            if samples:
                span = (samples[0]["mono"] - t0, samples[-1]["mono"] - t0)
                points.setdefault((STAGE, task.name), span)
    return points


def _parse_seconds(text: str) -> float | None:
    try:
        seconds = float(text)
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        raise UsageError(
            f"invalid point {text!r}: seconds since start must be 0 or more (a finite number)"
        )
    return seconds


def resolve_point(text: str | None, points: dict, is_end: bool) -> float | None:
    """Return a point in seconds since the first sample (None: the run's edge).

    ``text`` is seconds, a name, or a name prefixed with ``mark:`` or
    ``stage:``, which is needed when a mark and a stage share the name.
    """
    if text is None:
        return None
    seconds = _parse_seconds(text)
    if seconds is not None:
        return seconds
    kind, _, name = text.partition(":")
    if kind in (MARK, STAGE) and name:
        matches = [(kind, name)] if (kind, name) in points else []
    else:
        matches = [key for key in ((MARK, text), (STAGE, text)) if key in points]
    if len(matches) > 1:
        raise UsageError(
            f"ambiguous point {text!r}: it names a mark and a stage; "
            f"give mark:{text} or stage:{text}"
        )
    if matches:
        start, end = points[matches[0]]
        return end if is_end else start
    known = ", ".join(f"{k}:{n}" for k, n in sorted(points)) or "none recorded"
    raise UsageError(
        f"unknown point {text!r}: give seconds since start or a mark or stage name "
        f"(known: {known})"
    )


def select(tasks: list[Task], t0: float, start: float | None, end: float | None):
    """Return the Window of each task that has samples between start and end."""
    windows = []
    for task in tasks:
        samples = task.run.raw_samples
        if not samples:
            continue
        inside = [
            s
            for s in samples
            if (start is None or s["mono"] - t0 >= start - TOLERANCE_SECONDS)
            and (end is None or s["mono"] - t0 <= end + TOLERANCE_SECONDS)
        ]
        if inside:
            windows.append(Window(task, inside, samples[0]["mono"] - t0))
    return windows


def _describe(seconds: float | None, edge: str) -> str:
    return edge if seconds is None else f"{seconds:g} s"


def delta(directory: str, start_text: str | None, end_text: str | None) -> dict:
    """Return the totals of a run, or of each pipeline stage, between two points.

    The result is a summary.json-shaped dict with a ``window`` entry. For a
    pipeline it also has ``stages``: one summary per stage inside the window.
    """
    tasks = load_tasks(directory)
    t0 = first_mono(tasks, directory)
    points = named_points(tasks, directory, t0)
    start = resolve_point(start_text, points, is_end=False)
    end = resolve_point(end_text, points, is_end=True)
    if start is not None and end is not None and start >= end:
        raise UsageError(
            f"--from {start_text} ({start:g} s) is not before --to {end_text} "
            f"({end:g} s); give an earlier --from or a later --to"
        )
    windows = select(tasks, t0, start, end)
    results = []
    for window in windows:
        if len(window.samples) < 2:
            continue
        summary = summarize(window.task.run.meta, window.samples)
        summary["name"] = window.task.name
        summary["window"] = _window_facts(window.samples, t0)
        results.append(summary)
    if not results:
        count = sum(len(w.samples) for w in windows)
        raise UsageError(
            f"the window from {_describe(start, 'start')} to {_describe(end, 'end')} "
            f"contains {count} sample(s) of one run, and a delta needs at least two; "
            "widen the window or record with a shorter interval (-i)"
        )
    if len(tasks) == 1:
        result = results[0]
    else:
        result = {
            "window": _pipeline_window(results),
            "container": _pipeline_container(results),
            "metrics": _pipeline_metrics(results),
            "stages": results,
        }
    result["window"]["from"] = start_text
    result["window"]["to"] = end_text
    return result


def _window_facts(samples: list[dict], t0: float) -> dict:
    return {
        "first_sample_seconds": round(samples[0]["mono"] - t0, 6),
        "last_sample_seconds": round(samples[-1]["mono"] - t0, 6),
        "samples": len(samples),
    }


def _pipeline_window(results: list[dict]) -> dict:
    return {
        "first_sample_seconds": results[0]["window"]["first_sample_seconds"],
        "last_sample_seconds": results[-1]["window"]["last_sample_seconds"],
        "samples": sum(r["window"]["samples"] for r in results),
    }


# Container totals of a pipeline: stages run one after another, so their
# usage adds up, while a peak or maximum is the largest stage's.
_MAX_KEYS = ("memory_peak_bytes", "processes_max")


def _pipeline_container(results: list[dict]) -> dict:
    total: dict = {}
    for result in results:
        for key, value in (result.get("container") or {}).items():
            if isinstance(value, str):
                # A description such as where I/O was counted from: kept
                # only when every stage gives the same one.
                same = total.get(key, value) == value
                total[key] = value if same else None
            elif value is None:
                total.setdefault(key, None)
            elif total.get(key) is None:
                total[key] = value
            elif key in _MAX_KEYS:
                total[key] = max(total[key], value)
            else:
                total[key] += value
    return total


def _pipeline_metrics(results: list[dict]) -> dict:
    """Merge the stages' metrics: counter increases add up, gauges give the
    overall min and max and the mean weighted by each stage's samples."""
    merged: dict[str, dict] = {}
    weights: dict[str, int] = {}
    for result in results:
        count = result["window"]["samples"]
        for column, entry in (result.get("metrics") or {}).items():
            total = merged.get(column)
            if total is None:
                merged[column] = dict(entry)
                weights[column] = count
            elif "delta" in entry:
                total["delta"] += entry["delta"]
            else:
                weight = weights[column] + count
                total["mean"] = (
                    total["mean"] * weights[column] + entry["mean"] * count
                ) / weight
                total["min"] = min(total["min"], entry["min"])
                total["max"] = max(total["max"], entry["max"])
                weights[column] = weight
    return merged
