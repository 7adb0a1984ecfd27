"""``ctprof plot``."""

from __future__ import annotations

import os
import re

import click

from ..analysis.tasks import load_tasks, task_table, timeline
from ..errors import UsageError
from ..render.panels import TOP_PROCESSES
from ..render.plots import FORMATS, draw_tasks, plot_timeline, save
from ..store import read_meta


def _file_prefix(name: str, used: set[str]) -> str:
    """Return a file-name-safe, unique prefix for one run of several."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "run"
    candidate, n = safe, 2
    while candidate in used:
        candidate, n = f"{safe}-{n}", n + 1
    used.add(candidate)
    return f"{candidate}-"


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path())
@click.option(
    "-o",
    "--output",
    metavar="DIR",
    help="Directory for the figures [default: RUN_DIR/plots for one run, "
    "./ctprof-plots for several].",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="png",
    show_default=True,
    help="Image format.",
)
@click.option(
    "--top",
    type=click.IntRange(min=0),
    default=TOP_PROCESSES,
    show_default=True,
    help="Number of processes drawn in the top-processes-by-CPU panel.",
)
def plot(run_dirs, output, fmt, top):
    """Draw CPU, memory, disk, network, process and PSI figures of runs.

    Counters are drawn as rates per second, gauges as values. Several runs, or
    a pipeline run, also get per-task bar charts (tasks.png).
    """
    metas = [read_meta(d) for d in run_dirs]
    if output is None:
        output = (
            os.path.join(run_dirs[0], "plots") if len(run_dirs) == 1 else "ctprof-plots"
        )
    try:
        os.makedirs(output, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"cannot create output directory {output}: {exc.strerror}; "
            "give a writable path with -o"
        ) from None
    paths, tasks, used = [], [], set()
    for directory, meta in zip(run_dirs, metas):
        stage_tasks = load_tasks(directory)
        tasks.extend(stage_tasks)
        title = str(meta.get("name") or os.path.basename(directory.rstrip("/")))
        prefix = "" if len(run_dirs) == 1 else _file_prefix(title, used)
        series = timeline(directory, top, stage_tasks)
        if series.frame.empty:
            raise UsageError(
                f"{directory} contains no samples (the profiler stopped before its "
                "first one), so there is nothing to plot; record the run again"
            )
        paths += plot_timeline(series, title, output, prefix, fmt)
    if len(tasks) > 1:
        title = "runs" if len(run_dirs) > 1 else str(metas[0].get("name") or "pipeline")
        paths.append(save(draw_tasks(task_table(tasks), title), output, "tasks", fmt))
    for path in paths:
        click.echo(path)
