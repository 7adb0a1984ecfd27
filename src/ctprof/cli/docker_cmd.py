"""``ctprof attach`` and ``ctprof docker-run``."""

from __future__ import annotations

import sys

import click

from ..errors import UsageError
from ..recording import parse_interval, parse_levels
from ..render.report import print_run_summary
from .run_cmd import common_options


def _duration(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0 or seconds == float("inf"):
        raise UsageError(
            f"invalid --duration {value!r}: give a positive number of seconds, "
            "e.g. --duration 30"
        )
    return seconds


@click.command()
@common_options
@click.option(
    "--all",
    "all_containers",
    is_flag=True,
    help="Record every running Docker container and those started later, "
    "one series per container, plus the host.",
)
@click.option(
    "--duration",
    metavar="SECONDS",
    help="Stop recording after this many seconds [default: until the target "
    "stops, or Ctrl-C].",
)
@click.option("--name", help="Name of the run, recorded in meta.json.")
@click.option("--force", is_flag=True, help="Write into a non-empty output directory.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing after the run.")
@click.argument("target", required=False)
def attach(
    interval, levels, output, all_containers, duration, name, force, quiet, target
):
    """Record TARGET, which is already running, until it stops.

    TARGET is a Docker container name or id (or a unique prefix of one), a
    pid (its cgroup is recorded), or a cgroup given as a directory under a
    cgroup mount or as a path such as /docker/ID. The container is only read:
    ctprof never stops, pauses or changes it.
    """
    seconds = parse_interval(interval)
    chosen = parse_levels(levels)
    limit = _duration(duration)
    if all_containers:
        if target is not None:
            raise UsageError(f"give either TARGET ({target}) or --all, not both")
        from ..attach_all import attach_all

        result = attach_all(seconds, chosen, output, limit, name, force)
        if not quiet:
            click.echo(
                f"ctprof: recorded the host and {result.containers} container(s) "
                f"to {result.directory}; details: ctprof report {result.directory}",
                err=True,
            )
        sys.exit(0)
    if target is None:
        raise UsageError(
            "missing TARGET: give a container name or id, a pid or a cgroup "
            "path, or --all"
        )
    from ..attach import attach_target

    result = attach_target(target, seconds, chosen, output, limit, name, force)
    if not quiet:
        print_run_summary(result.meta, result.summary, result.directory, err=True)
    sys.exit(result.exit_code)


@click.command(
    "docker-run",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@common_options
@click.option("--name", help="Name of the run [default: the container's name].")
@click.option("--force", is_flag=True, help="Write into a non-empty output directory.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing after the run.")
@click.argument("docker_args", nargs=-1, type=click.UNPROCESSED)
def docker_run(interval, levels, output, name, force, quiet, docker_args):
    """Create a container as docker run would, and record it from start to exit.

    Give the docker run options, the image and the command after --, e.g.
    ctprof docker-run -i 0.5 -- --rm --memory 64m busybox sh -c 'echo hi'.
    Exits with the container's exit status.
    """
    seconds = parse_interval(interval)
    chosen = parse_levels(levels)
    args = list(docker_args)
    if args and args[0] == "--":
        args = args[1:]
    from ..docker_launch import run_container

    result = run_container(args, seconds, chosen, output, name, force)
    if not quiet:
        print_run_summary(result.meta, result.summary, result.directory, err=True)
    sys.exit(result.exit_code)
