"""``ctprof export``."""

from __future__ import annotations

import click

from ..render.export import FORMATS
from ..render.export import export as export_tables


@click.command()
@click.argument("run_dir", type=click.Path())
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    required=True,
    help="Table format.",
)
@click.option(
    "-o",
    "--output",
    metavar="PATH",
    help="Directory that receives samples.<format> and processes.<format> "
    "[default: RUN_DIR/export].",
)
def export(run_dir, fmt, output):
    """Export a run's samples and processes as CSV or Parquet tables.

    samples: one row per sample, one column per metric. processes: one row per
    process per sample.
    """
    for path in export_tables(run_dir, fmt, output):
        click.echo(path)
