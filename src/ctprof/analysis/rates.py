"""Time series of a run ready to draw: counters as rates per second, gauges as values.

A counter's rate at sample i is (v[i] - v[i-1]) / (mono[i] - mono[i-1]), placed at
sample i's time. A counter that went backwards (a reset) is taken as counted
again from zero, as in ``counter_increase``, so its rate is v[i] / dt. The first
sample has no rate. Plots and the HTML report both read this module.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import catalog
from ..api import samples_frame

# Columns of api.samples_frame that are not metrics.
TIME_COLUMNS = ("time", "elapsed_seconds", "seq", "kind")


@dataclass(frozen=True)
class SeriesInfo:
    """Description of one column of a rate frame."""

    column: str
    metric: catalog.Metric
    label: str | None
    # Unit of the drawn values: the metric's unit, "/s" appended for counters.
    unit: str


def series_info(column: str) -> SeriesInfo | None:
    metric = catalog.metric_for_column(column)
    if metric is None:
        return None
    _, _, label = catalog.parse_column_name(column)
    unit = f"{metric.unit}/s" if metric.is_counter else metric.unit
    return SeriesInfo(column, metric, label, unit)


def counter_rates(values: pd.Series, seconds: pd.Series) -> pd.Series:
    """Return the per-second rate of a counter between consecutive samples."""
    values = values.astype(float)
    increase = values.diff()
    reset = increase < 0
    increase[reset] = values[reset]
    dt = seconds.astype(float).diff()
    rates = increase / dt.where(dt > 0)
    return rates


def rate_frame(samples: list[dict]) -> pd.DataFrame:
    """Return one row per sample: ``elapsed_seconds`` then one column per metric.

    Counter columns hold rates per second (NaN in the first row), gauge columns
    hold the recorded values.
    """
    frame = samples_frame(samples)
    if frame.empty:
        return pd.DataFrame({"elapsed_seconds": []})
    seconds = frame["elapsed_seconds"]
    columns: dict[str, pd.Series] = {"elapsed_seconds": seconds}
    for column in frame.columns:
        info = series_info(column)
        if info is None:
            continue
        values = pd.to_numeric(frame[column], errors="coerce")
        if info.metric.is_counter:
            columns[column] = counter_rates(values, seconds)
        else:
            columns[column] = values.astype(float)
    return pd.DataFrame(columns)


def process_cpu_frame(samples: list[dict], top: int) -> pd.DataFrame:
    """Return the CPU use (cores) of the ``top`` busiest processes, one column each.

    A process is a (pid, start time) pair, so a reused pid is a new process.
    Column names are "NAME (PID)". The rows are read straight from the samples
    because a long run has millions of process rows.
    """
    seconds = np.array([s["mono"] for s in samples], dtype=float)
    if samples:
        seconds = np.round(seconds - seconds[0], 6)
    out = pd.DataFrame({"elapsed_seconds": seconds})
    columns = {name: i for i, name in enumerate(catalog.PROCESS_COLUMNS)}
    user = columns["cpu_user_seconds_total"]
    system = columns["cpu_system_seconds_total"]
    readings: dict[tuple, list[tuple[int, float]]] = {}
    names: dict[tuple, str] = {}
    for i, sample in enumerate(samples):
        for row in sample.get("processes") or ():
            if row[user] is None or row[system] is None:
                continue
            key = (row[0], row[1])
            readings.setdefault(key, []).append((i, row[user] + row[system]))
            names[key] = row[2]

    def used(key: tuple) -> float:
        values = [v for _, v in readings[key]]
        return max(values) - min(values)

    for key in sorted(readings, key=used, reverse=True)[:top]:
        rows, cpu = zip(*readings[key])
        rate = counter_rates(pd.Series(cpu), pd.Series(seconds[list(rows)]))
        column = np.full(len(samples), np.nan)
        column[list(rows)] = rate.to_numpy()
        out[f"{names[key]} ({key[0]})"] = column
    return out
