"""``ctprof delta``."""

from __future__ import annotations

import json

import click

from ..analysis.window import delta as window_delta
from ..render.delta import print_delta


@click.command()
@click.argument("run_dir", type=click.Path())
@click.option(
    "--from",
    "start",
    metavar="POINT",
    help="Start of the window: seconds since the first sample, a mark name or a "
    "stage name (prefix mark: or stage: when both use it) [default: the first "
    "sample].",
)
@click.option(
    "--to",
    "end",
    metavar="POINT",
    help="End of the window: seconds since the first sample, a mark name or a "
    "stage name (its end) [default: the last sample].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the totals as JSON.")
def delta(run_dir, start, end, as_json):
    """Print the totals of a run between two points.

    Counters: last reading minus first inside the window. Gauges: min, mean and
    max. The same computation as summary.json.
    """
    result = window_delta(run_dir, start, end)
    if as_json:
        click.echo(json.dumps(result, indent=2, default=str))
    else:
        print_delta(result)
