"""``ctprof html``."""

from __future__ import annotations

import os

import click

from ..errors import UsageError
from ..recording import RUN_FILES
from ..render.html import build_page
from ..store import is_run_dir


def check_output(run_dir: str, output: str) -> None:
    """Reject an output path that is a file of a run directory: of this run,
    of a run below it (a pipeline's stage) or of any other run."""
    target = os.path.realpath(output)
    name = os.path.basename(target)
    if name not in RUN_FILES or not is_run_dir(os.path.dirname(target)):
        return
    raise UsageError(
        f"output {output} is the {name} of a run directory, which the report "
        f"would overwrite; choose another -o, e.g. "
        f"{os.path.join(run_dir, 'report.html')}"
    )


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
    output = output or os.path.join(run_dir, "report.html")
    check_output(run_dir, output)
    page = build_page(run_dir)
    try:
        with open(output, "w", encoding="utf-8") as f:
            f.write(page)
    except OSError as exc:
        raise UsageError(
            f"cannot write {output}: {exc.strerror}; give a writable path with -o"
        ) from None
    click.echo(output)
