"""The ``ctprof`` command line: a thin layer over the library.

Each sub-command lives in its own module and is registered in COMMANDS.
Errors the user can fix print one line and exit with status 2.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import NoReturn

import click

from .. import __version__
from ..errors import CtprofError, RunFormatError, UsageError

# module name → attribute holding the click command
COMMANDS = {
    "run": ("ctprof.cli.run_cmd", "run"),
    "report": ("ctprof.cli.report_cmd", "report"),
    "mark": ("ctprof.cli.mark_cmd", "mark"),
    "pipeline": ("ctprof.cli.pipeline_cmd", "pipeline"),
    "plot": ("ctprof.cli.plot_cmd", "plot"),
    "delta": ("ctprof.cli.delta_cmd", "delta"),
    "compare": ("ctprof.cli.compare_cmd", "compare_runs"),
    "export": ("ctprof.cli.export_cmd", "export"),
    "html": ("ctprof.cli.html_cmd", "html"),
    "attach": ("ctprof.cli.docker_cmd", "attach"),
    "docker-run": ("ctprof.cli.docker_cmd", "docker_run"),
}


class LazyGroup(click.Group):
    """Imports a sub-command's module only when that command runs."""

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        entry = COMMANDS.get(name)
        if entry is None:
            return None
        module = importlib.import_module(entry[0])
        return getattr(module, entry[1])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ctprof")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages to stderr.")
def cli(verbose: bool) -> None:
    """Profile what a command, a container or a pipeline consumes."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="ctprof: %(levelname)s: %(message)s",
    )


def fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"ctprof: error: {message}", err=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="ctprof", standalone_mode=False)
    except click.exceptions.Abort:
        fail("aborted", 130)
    except click.ClickException as exc:
        # Usage errors: one line, exit 2 (click's own --help style for the rest).
        click.echo(f"ctprof: error: {exc.format_message()}", err=True)
        if isinstance(exc, click.UsageError) and exc.ctx is not None:
            click.echo(f"Try '{exc.ctx.command_path} --help'.", err=True)
        sys.exit(2 if isinstance(exc, click.UsageError) else exc.exit_code)
    except (UsageError, RunFormatError) as exc:
        fail(str(exc))
    except CtprofError as exc:
        fail(str(exc), getattr(exc, "exit_code", 2))
    except BrokenPipeError:
        sys.exit(141)


if __name__ == "__main__":
    main()
