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
from ..api import processes_frame, samples_frame

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
    Column names are "NAME (PID)".
    """
    procs = processes_frame(samples)
    seconds = pd.Series([], dtype=float)
    if samples:
        t0 = samples[0]["mono"]
        seconds = pd.Series([round(s["mono"] - t0, 6) for s in samples])
    out = pd.DataFrame({"elapsed_seconds": seconds})
    if procs.empty:
        return out
    procs = procs.assign(
        cpu=procs["cpu_user_seconds_total"].astype(float)
        + procs["cpu_system_seconds_total"].astype(float)
    )
    totals = {}
    for key, rows in procs.groupby(["pid", "start_time_seconds"], sort=False):
        totals[key] = rows["cpu"].max() - rows["cpu"].min()
    busiest = sorted(totals, key=totals.get, reverse=True)[:top]
    by_seq = {s["seq"]: i for i, s in enumerate(samples)}
    for key in busiest:
        rows = procs[(procs["pid"] == key[0]) & (procs["start_time_seconds"] == key[1])]
        rate = counter_rates(
            rows["cpu"].reset_index(drop=True),
            rows["elapsed_seconds"].reset_index(drop=True),
        )
        column = np.full(len(samples), np.nan)
        for seq, value in zip(rows["seq"], rate):
            column[by_seq[seq]] = value
        name = rows["name"].iloc[-1]
        out[f"{name} ({key[0]})"] = column
    return out
