"""``ctprof pipeline``."""

from __future__ import annotations

import sys

import click

from ..pipeline.runner import run_pipeline
from ..pipeline.spec import load_pipeline
from ..recording import parse_interval, parse_levels
from ..render.pipeline_report import print_pipeline_report
from .run_cmd import common_options

# Seconds between samples when neither -i nor the file sets an interval:
# the per-stage timeline needs a time series, and 1 s costs little.
DEFAULT_INTERVAL = 1.0


@click.command()
@common_options
@click.option(
    "--from-stage",
    metavar="NAME",
    help="Start at stage NAME, skipping the stages before it (a new run directory).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace an earlier pipeline in a non-empty output directory.",
)
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="Print nothing but errors: a stage that could not start, or whose "
    "failure stopped the pipeline.",
)
@click.argument("pipeline_file", metavar="PIPELINE.yaml", type=click.Path())
def pipeline(interval, levels, output, from_stage, force, quiet, pipeline_file):
    """Run the stages of PIPELINE.yaml in order, recording each one.

    -i and -l replace the file's interval and levels (without either, a
    pipeline is sampled every second). Exits with the status of the stage that
    stopped the pipeline, or 0.
    """
    spec = load_pipeline(pipeline_file)
    if interval is not None:
        seconds = parse_interval(interval)
    elif spec.interval is not None:
        seconds = spec.interval
    else:
        seconds = DEFAULT_INTERVAL
    if levels is not None:
        chosen = parse_levels(levels)
    else:
        chosen = spec.levels or parse_levels(None)
    if from_stage is not None:
        spec.stage_index(from_stage)
    echo = _errors_only if quiet else _progress
    result = run_pipeline(spec, seconds, chosen, output, force, from_stage, echo)
    if not quiet:
        print_pipeline_report(result.summary, result.directory, err=True)
    sys.exit(result.exit_code)


def _progress(line: str, error: bool) -> None:
    click.echo(f"ctprof: {line}", err=True)


def _errors_only(line: str, error: bool) -> None:
    if error:
        _progress(line, error)
