"""``ctprof export``: a run's samples and processes as CSV or Parquet tables.

Two files are written into the output directory:

- ``samples.<ext>``: one row per sample, the time columns first (``time``,
  ``elapsed_seconds``, ``seq``, ``kind``), then one column per metric named
  ``level.metric`` or ``level.metric[label]`` as in the catalog, then the
  sampling cost per level (``cost.<level>``, seconds).
- ``processes.<ext>``: one row per process per sample (a long table).

A pipeline's tables hold every stage, with a ``stage`` column after the time
columns; ``elapsed_seconds`` then counts from each stage's first sample.
"""

from __future__ import annotations

import logging
import os

import pandas as pd

from .. import catalog
from ..analysis.tasks import Task, load_tasks
from ..errors import UsageError

log = logging.getLogger(__name__)

FORMATS = ("csv", "parquet")
TIME_COLUMNS = ("time", "elapsed_seconds", "seq", "kind")
STAGE_COLUMN = "stage"


def order_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Put the time columns first, then metrics, then everything else."""
    first = [c for c in (*TIME_COLUMNS, STAGE_COLUMN) if c in frame.columns]
    metrics = [
        c
        for c in frame.columns
        if c not in first and catalog.metric_for_column(c) is not None
    ]
    rest = [c for c in frame.columns if c not in first and c not in metrics]
    return frame[first + metrics + rest]


def _with_stage(frame: pd.DataFrame, task: Task, position: int) -> pd.DataFrame:
    frame = frame.copy()
    frame.insert(min(position, len(frame.columns)), STAGE_COLUMN, task.name)
    return frame


def tables(directory: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the samples table and the processes table of a run or pipeline."""
    tasks = load_tasks(directory)
    if len(tasks) == 1:
        run = tasks[0].run
        return order_columns(run.samples), run.processes
    samples = [_with_stage(t.run.samples, t, len(TIME_COLUMNS)) for t in tasks]
    procs = [_with_stage(t.run.processes, t, 3) for t in tasks]
    merged = pd.concat(samples, ignore_index=True)
    return order_columns(merged), pd.concat(procs, ignore_index=True)


def write_table(frame: pd.DataFrame, path: str, fmt: str) -> None:
    if fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    log.debug("wrote %s (%d rows)", path, len(frame))


def export(directory: str, fmt: str, output: str | None) -> list[str]:
    """Write the two tables of a run into ``output`` and return their paths."""
    if fmt not in FORMATS:
        raise UsageError(f"invalid format {fmt!r}: give one of {', '.join(FORMATS)}")
    samples, procs = tables(directory)
    output = output or os.path.join(directory, "export")
    try:
        os.makedirs(output, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"cannot create output directory {output}: {exc.strerror}; "
            "give a writable path with -o"
        ) from None
    paths = []
    for name, frame in (("samples", samples), ("processes", procs)):
        path = os.path.join(output, f"{name}.{fmt}")
        write_table(frame, path, fmt)
        paths.append(path)
    return paths
