"""``ctprof plot``: figures of a run drawn with matplotlib (Agg backend, no display).

Time series runs get one line per series against seconds since the first
sample. Delta-mode runs (two samples) get bars of the value over the whole run. Several
runs, or a pipeline, also get the per-task bar charts.
"""

from __future__ import annotations

import logging
import os

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from .. import catalog  # noqa: E402
from ..analysis.tasks import Timeline  # noqa: E402
from .panels import (  # noqa: E402
    Figure,
    Panel,
    axis_scale,
    byte_scale,
    delta_heading,
    run_figures,
)
from .units import human_bytes  # noqa: E402

log = logging.getLogger(__name__)

FORMATS = ("png", "svg")
PANEL_HEIGHT = 3.0
WIDTH = 10.0
DPI = 100
# Stage bounds and names are drawn above the data: above stacked areas
# (matplotlib's default zorder 1) and lines (2).
STAGE_ZORDER = 3


def axis_formatter(unit: str) -> FuncFormatter:
    """Return a tick formatter that writes values in human units."""
    if unit == "bytes":
        return FuncFormatter(lambda v, _: human_bytes(v))
    if unit in ("percent", "percent of time"):
        return FuncFormatter(lambda v, _: f"{v:.0f} %")
    if unit == "seconds":
        return FuncFormatter(lambda v, _: f"{v:g} s")
    return FuncFormatter(lambda v, _: f"{v:g}")


def _shade(ax, timeline: Timeline) -> None:
    """Shade every other stage, draw stage bounds and marks as labelled
    vertical lines.

    The bands lie under the data, where a stacked area covers them, so the
    bounds and stage names are drawn above the data.
    """
    for i, (name, start, end) in enumerate(timeline.spans):
        ax.axvspan(start, end, color="0.85" if i % 2 == 0 else "0.93", zorder=0)
        for x in (start, end):
            ax.axvline(
                x, color="0.25", linestyle="--", linewidth=0.8, zorder=STAGE_ZORDER
            )
        ax.annotate(
            name,
            (start, 0.0),
            xycoords=("data", "axes fraction"),
            xytext=(2, 2),
            textcoords="offset points",
            va="bottom",
            fontsize=7,
            color="0.2",
            zorder=STAGE_ZORDER,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1},
        )
    for name, x in timeline.marks:
        ax.axvline(x, color="tab:red", linestyle=":", linewidth=1)
        ax.annotate(
            name,
            (x, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(2, -2),
            textcoords="offset points",
            va="top",
            fontsize=7,
            color="tab:red",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1},
        )


def _segments(present: np.ndarray) -> list[slice]:
    """Return the runs of consecutive True values as slices."""
    segments, start = [], None
    for i, flag in enumerate(present):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            segments.append(slice(start, i))
            start = None
    if start is not None:
        segments.append(slice(start, len(present)))
    return segments


def _draw_lines(ax, x: np.ndarray, panel: Panel, factor: float) -> None:
    if panel.stacked:
        # Rows without a value (the first sample of each stage has no rate)
        # split the area into segments rather than being drawn as zero.
        present = ~np.all(np.isnan(np.vstack([line.y for line in panel.lines])), 0)
        labels = [line.label for line in panel.lines]
        colors = [f"C{i}" for i in range(len(labels))]
        for segment in _segments(present):
            ys = [np.nan_to_num(line.y[segment]) for line in panel.lines]
            ax.stackplot(x[segment], ys, labels=labels, colors=colors, alpha=0.85)
            labels = [f"_{label}" for label in labels]
        ax.set_ylim(0, 100)
        return
    for line in panel.lines:
        ax.plot(
            x,
            line.y / factor,
            label=line.label,
            linestyle="--" if line.dashed else "-",
            linewidth=1.2,
        )
    ax.set_ylim(bottom=0)


def _last_value(y: np.ndarray) -> float:
    present = y[~np.isnan(y)]
    return float(present[-1]) if present.size else 0.0


def _draw_bars(ax, panel: Panel, factor: float) -> None:
    """Draw one bar per line: a delta run's rate or value over its one interval."""
    labels = [line.label for line in panel.lines]
    values = [_last_value(line.y) / factor for line in panel.lines]
    if panel.stacked:
        bottom = 0.0
        for label, value in zip(labels, values):
            ax.bar(["whole run"], [value], bottom=bottom, label=label)
            bottom += value
        return
    ax.bar(labels, values, color=[f"C{i}" for i in range(len(values))])
    ax.tick_params(axis="x", labelrotation=20)


def draw_figure(figure: Figure, timeline: Timeline, title: str) -> plt.Figure:
    count = len(figure.panels)
    fig, axes = plt.subplots(
        count, 1, figsize=(WIDTH, PANEL_HEIGHT * count), squeeze=False
    )
    for ax, panel in zip(axes[:, 0], figure.panels):
        factor, unit = axis_scale(panel)
        if timeline.delta_mode:
            _draw_bars(ax, panel, factor)
        else:
            _shade(ax, timeline)
            _draw_lines(ax, figure.x, panel, factor)
            ax.set_xlabel("seconds since start")
            ax.grid(True, alpha=0.3)
        heading = delta_heading(panel) if timeline.delta_mode else panel.title
        ax.set_title(heading, fontsize=10, loc="left")
        ax.set_ylabel(unit)
        if factor == 1.0:
            ax.yaxis.set_major_formatter(axis_formatter(panel.unit))
        bars = timeline.delta_mode and not panel.stacked
        if (len(panel.lines) > 1 or panel.stacked) and not bars:
            # Outside the axes, so the legend never hides a line.
            ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle(f"{title}: {figure.title}", fontsize=11)
    fig.tight_layout()
    return fig


def _label_tasks(ax, tasks: pd.DataFrame) -> None:
    """Label the bar positions 0..n-1 with the task names."""
    ax.set_xticks(np.arange(len(tasks)), [str(label) for label in tasks["task"]])
    ax.tick_params(axis="x", labelrotation=20)


def _task_bar(ax, tasks: pd.DataFrame, column: str, title: str, unit: str) -> None:
    values = pd.to_numeric(tasks[column], errors="coerce").fillna(0)
    factor = 1.0
    if unit == "bytes":
        factor, unit = byte_scale(float(values.max()))
    # Bars stand at positions, not at categories: matplotlib puts the bars of
    # two equal category names on one spot.
    ax.bar(np.arange(len(tasks)), values / factor, color="tab:blue")
    ax.set_ylim(bottom=0)
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_ylabel(unit)
    if factor == 1.0:
        ax.yaxis.set_major_formatter(axis_formatter(unit))
    _label_tasks(ax, tasks)


def draw_tasks(tasks: pd.DataFrame, title: str) -> plt.Figure:
    """Draw the per-task CPU-mode stacked bars and the per-task totals."""
    fig, axes = plt.subplots(3, 2, figsize=(WIDTH, 9.0))
    modes = axes[0, 0]
    bottom = np.zeros(len(tasks))
    for mode in catalog.CPU_MODES_PARTITION:
        values = pd.to_numeric(tasks[mode], errors="coerce").fillna(0).to_numpy()
        modes.bar(np.arange(len(tasks)), values, bottom=bottom, label=mode)
        bottom += values
    modes.set_title("Host CPU time by mode", fontsize=10, loc="left")
    modes.yaxis.set_major_formatter(axis_formatter("percent"))
    modes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    _label_tasks(modes, tasks)
    _task_bar(axes[0, 1], tasks, "cpu_seconds", "Container CPU time", "seconds")
    _task_bar(axes[1, 0], tasks, "memory_peak_bytes", "Peak memory", "bytes")
    _task_bar(axes[1, 1], tasks, "io_read_bytes", "Bytes read", "bytes")
    _task_bar(axes[2, 0], tasks, "io_write_bytes", "Bytes written", "bytes")
    axes[2, 1].axis("off")
    fig.suptitle(f"{title}: per task", fontsize=11)
    fig.tight_layout()
    return fig


def save(fig: plt.Figure, directory: str, stem: str, fmt: str) -> str:
    path = os.path.join(directory, f"{stem}.{fmt}")
    fig.savefig(path, format=fmt, dpi=DPI)
    plt.close(fig)
    log.debug("wrote %s", path)
    return path


def plot_timeline(
    timeline: Timeline, title: str, directory: str, prefix: str, fmt: str
) -> list[str]:
    """Write one file per figure of a run and return their paths."""
    paths = []
    for figure in run_figures(timeline.frame, timeline.procs):
        fig = draw_figure(figure, timeline, title)
        paths.append(save(fig, directory, f"{prefix}{figure.key}", fmt))
    return paths
