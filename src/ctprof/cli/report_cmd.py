"""``ctprof report``."""

from __future__ import annotations

import click

from ..api import load
from ..pipeline.summary import KIND as PIPELINE
from ..pipeline.summary import load_pipeline_summary
from ..render.containers import print_containers
from ..render.pipeline_report import print_pipeline_report
from ..render.report import print_report
from ..store import read_meta


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option(
    "--unavailable",
    is_flag=True,
    help="List the metrics that could not be read, with reasons.",
)
def report(run_dir, unavailable):
    """Print a run's summary as tables; works on a run whose profiler was killed.

    For a pipeline directory, prints one row per stage.
    """
    meta = read_meta(run_dir)
    if meta.get("kind") == PIPELINE:
        print_pipeline_report(load_pipeline_summary(run_dir, meta))
        return
    run = load(run_dir)
    print_report(run.meta, run.summary, run.summary_recomputed, unavailable)
    if run.meta.get("containers"):
        # An attach --all run: the host above, then one row per container.
        print_containers(run_dir, run.meta["containers"])
