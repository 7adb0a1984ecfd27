"""``ctprof html``."""

from __future__ import annotations

import os

import click

from ..errors import UsageError
from ..render.html import build_page


@click.command()
@click.argument("run_dir", type=click.Path())
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    help="HTML file to write [default: RUN_DIR/report.html].",
)
def html(run_dir, output):
    """Write a self-contained HTML report of a run.

    The report has summary tables, interactive charts, a picker over every
    recorded series and a sortable process table. The file embeds everything
    it needs and makes no network request.
    """
    page = build_page(run_dir)
    output = output or os.path.join(run_dir, "report.html")
    try:
        with open(output, "w", encoding="utf-8") as f:
            f.write(page)
    except OSError as exc:
        raise UsageError(
            f"cannot write {output}: {exc.strerror}; give a writable path with -o"
        ) from None
    click.echo(output)
