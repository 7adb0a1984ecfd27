"""``ctprof run``."""

from __future__ import annotations

import sys

import click

from ..launch import CommandNotFound, run_command
from ..recording import parse_interval, parse_levels
from ..render.report import print_run_summary


def common_options(func):
    """Add the options shared by every recording command."""
    func = click.option(
        "-o",
        "--output",
        metavar="DIR",
        help="Run directory [default: ./ctprof-runs/<UTC time>-<name>].",
    )(func)
    func = click.option(
        "-l",
        "--levels",
        metavar="LEVELS",
        help="Levels to record: host,container,process or letters v,c,p (e.g. vc) [default: all].",
    )(func)
    func = click.option(
        "-i",
        "--interval",
        metavar="SECONDS",
        help="Seconds between samples (≥ 0.01); omitted or 0 records only start and end (delta mode).",
    )(func)
    return func


@click.command(
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False}
)
@common_options
@click.option(
    "--name",
    help="Name of the run, recorded in meta.json [default: the command's name].",
)
@click.option("--force", is_flag=True, help="Write into a non-empty output directory.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing after the run.")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def run(interval, levels, output, name, force, quiet, command):
    """Run COMMAND in a fresh cgroup and record what it consumes.

    Exits with COMMAND's exit status (128+N when it was killed by signal N).
    """
    seconds = parse_interval(interval)
    chosen = parse_levels(levels)
    argv = list(command)
    if argv and argv[0] == "--":
        argv = argv[1:]
    try:
        result = run_command(argv, seconds, chosen, output, name, force)
    except CommandNotFound as exc:
        click.echo(f"ctprof: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    if not quiet:
        print_run_summary(result.meta, result.summary, result.directory, err=True)
    sys.exit(result.exit_code)
