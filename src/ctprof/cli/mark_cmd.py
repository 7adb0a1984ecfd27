"""``ctprof mark``."""

from __future__ import annotations

import os

import click

from ..errors import UsageError
from ..launch import RUN_DIR_ENV
from ..marks import validate_mark_name, write_mark


@click.command()
@click.argument("name")
def mark(name):
    """Record NAME as a phase boundary in the run profiling this command.

    ctprof sets CTPROF_RUN_DIR for the commands it profiles. Without it, this
    prints that no profiler is running and exits 0, so scripts can call it
    unconditionally.
    """
    try:
        validate_mark_name(name)
    except ValueError as exc:
        raise UsageError(f"invalid mark name: {exc}; give one line of text") from None
    run_dir = os.environ.get(RUN_DIR_ENV)
    if not run_dir:
        click.echo(
            f"ctprof mark: no profiler is running ({RUN_DIR_ENV} is not set); "
            f"mark {name!r} not recorded",
            err=True,
        )
        return
    try:
        write_mark(run_dir, name)
    except OSError as exc:
        # The profiled command must not fail because its profiler went away.
        click.echo(
            f"ctprof mark: cannot write mark {name!r} to {run_dir}: {exc.strerror}",
            err=True,
        )
