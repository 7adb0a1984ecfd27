"""The data behind the HTML report's charts, as plain JSON-ready values.

Strings are left as recorded: the page's script escapes them before plotly
draws them, and the JSON is embedded with ``<``, ``>`` and ``&`` written as
unicode escapes, so no recorded string can end the script element.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from .. import catalog
from ..analysis.downsample import bucket_bounds, reduce_mean, reduce_x, reduce_y
from ..analysis.rates import series_info
from ..analysis.tasks import Task, Timeline, task_table
from .panels import Panel, axis_scale, byte_scale, delta_heading, run_figures

# Buckets per series on a long run: 2 points each, so at most 1,000 points per
# series. A 10,000-sample run keeps its peaks at a twentieth of the size.
BUCKETS = 500
# Significant digits kept per value: finer than a chart's pixels.
DIGITS = 5


def compact(values: np.ndarray) -> list | dict:
    """Return a series as a list with NaN as None, or {"c": v} when constant."""
    present = values[~np.isnan(values)]
    if present.size == values.size and present.size and np.all(present == present[0]):
        return {"c": _round(float(present[0]))}
    return [_round(float(v)) for v in values]


def _round(value: float) -> float | None:
    if not math.isfinite(value):
        return None
    return float(f"{value:.{DIGITS}g}")


def _last(y: np.ndarray) -> float | None:
    present = y[~np.isnan(y)]
    return _round(float(present[-1])) if present.size else None


def panel_data(panel: Panel, bounds, delta_mode: bool) -> dict:
    factor, axis = axis_scale(panel)
    entry = {
        "title": delta_heading(panel) if delta_mode else panel.title,
        "unit": panel.unit,
        "axis": axis,
        "stacked": panel.stacked,
    }
    if delta_mode:
        entry["bars"] = [[line.label, _last(line.y / factor)] for line in panel.lines]
    else:
        reduce = reduce_mean if panel.stacked else reduce_y
        entry["lines"] = [
            {
                "label": line.label,
                "y": compact(reduce(line.y / factor, bounds)),
                "dashed": line.dashed,
            }
            for line in panel.lines
        ]
    return entry


def picker_series(frame: pd.DataFrame, bounds) -> list[dict]:
    """Return every metric column of the rate frame for the metric picker."""
    out = []
    for column in frame.columns:
        info = series_info(column)
        if info is None:
            continue
        y = frame[column].to_numpy(dtype=float)
        if np.all(np.isnan(y)):
            continue
        out.append(
            {
                "column": column,
                "unit": info.unit,
                "description": info.metric.description,
                "y": compact(reduce_y(y, bounds)),
            }
        )
    return out


# Per-task bars: (column of analysis.tasks.task_table, title, unit).
TASK_BARS = (
    ("cpu_seconds", "Container CPU time", "seconds"),
    ("memory_peak_bytes", "Peak memory", "bytes"),
    ("io_read_bytes", "Bytes read", "bytes"),
    ("io_write_bytes", "Bytes written", "bytes"),
)


def _numbers(values) -> list[float | None]:
    return [None if pd.isna(v) else _round(float(v)) for v in values]


def task_data(tasks: list[Task]) -> dict | None:
    """Return the per-task bars of several runs or a pipeline's stages."""
    if len(tasks) < 2:
        return None
    table = task_table(tasks)
    bars = []
    for column, title, unit in TASK_BARS:
        values = pd.to_numeric(table[column], errors="coerce")
        factor, axis = 1.0, unit
        if unit == "bytes":
            factor, axis = byte_scale(float(values.max(skipna=True) or 0))
        bars.append({"title": title, "axis": axis, "values": _numbers(values / factor)})
    return {
        "names": [str(name) for name in table["task"]],
        "modes": {m: _numbers(table[m]) for m in catalog.CPU_MODES_PARTITION},
        "bars": bars,
    }


def chart_data(timeline: Timeline, tasks: list[Task] | None = None) -> dict:
    """Return everything the page's script draws, ready for json.dumps."""
    frame = timeline.frame
    x = frame["elapsed_seconds"].to_numpy(dtype=float)
    bounds = bucket_bounds(len(x), BUCKETS)
    figures = [
        {
            "key": figure.key,
            "title": figure.title,
            "panels": [
                panel_data(p, bounds, timeline.delta_mode) for p in figure.panels
            ],
        }
        for figure in run_figures(frame, timeline.procs)
    ]
    return {
        "x": compact(reduce_x(x, bounds)),
        "samples": len(x),
        "points": len(x) if bounds is None else 2 * len(bounds),
        "downsampled": bounds is not None,
        "delta": timeline.delta_mode,
        "figures": figures,
        "spans": [[name, _round(a), _round(b)] for name, a, b in timeline.spans],
        "marks": [[name, _round(t)] for name, t in timeline.marks],
        "series": picker_series(frame, bounds),
        "tasks": task_data(tasks or []),
    }


def script_json(data: dict) -> str:
    """Return JSON that is safe inside a <script> element."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
