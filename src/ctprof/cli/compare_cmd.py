"""``ctprof compare``."""

from __future__ import annotations

import sys

import click

from ..analysis.compare import DEFAULT_KEYS, check_key, compare, run_totals
from ..render.compare import print_comparison


@click.command(name="compare")
@click.argument("run_a", type=click.Path())
@click.argument("run_b", type=click.Path())
@click.option(
    "--threshold",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    metavar="PERCENT",
    help="Change, in percent of RUN_A's value, above which a value is flagged.",
)
@click.option(
    "--metric",
    "metrics",
    multiple=True,
    metavar="KEY",
    help="Value to compare, repeatable: a summary key (container.cpu_seconds) or "
    "a catalog column (container.memory_usage_bytes) [default: elapsed_seconds "
    "and every container.* summary key].",
)
def compare_runs(run_a, run_b, threshold, metrics):
    """Compare the totals of RUN_A and RUN_B.

    Exits 1 when a value changed by more than the threshold, so CI jobs can
    fail on a regression, and 0 otherwise.
    """
    keys = tuple(metrics) or DEFAULT_KEYS
    for key in keys:
        check_key(key)
    changes = compare(run_totals(run_a), run_totals(run_b), keys, threshold)
    print_comparison(run_a, run_b, changes, threshold)
    if any(change.crossed for change in changes):
        sys.exit(1)
