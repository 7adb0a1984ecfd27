"""``ctprof report``."""

from __future__ import annotations

import click

from ..api import load
from ..render.report import print_report


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option(
    "--unavailable",
    is_flag=True,
    help="List the metrics that could not be read, with reasons.",
)
def report(run_dir, unavailable):
    """Print a run's summary as tables; works on a run whose profiler was killed."""
    run = load(run_dir)
    print_report(run.meta, run.summary, run.summary_recomputed, unavailable)
