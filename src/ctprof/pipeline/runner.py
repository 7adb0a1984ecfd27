"""Run a pipeline: one recording per stage, in order, into one run directory.

The pipeline directory contains meta.json (``"kind": "pipeline"``), one complete
run directory per stage named ``NN-<stage>`` (NN is the stage's position in
the pipeline file, so a resumed pipeline keeps the numbers) and summary.json
(see pipeline/summary.py). Command stages go through launch.run_command and
container stages through docker_launch.run_container, exactly like
``ctprof run`` and ``ctprof docker-run``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

from .. import store
from ..errors import CtprofError, UsageError
from ..launch import CommandNotFound, RunResult, run_command
from ..recording import default_output, iso, now_wall, prepare_output
from .spec import Pipeline, Stage
from .summary import KIND, pipeline_summary, stage_entry, stage_error_entry

log = logging.getLogger(__name__)

# Exit status given to a container stage whose container could not be
# created; docker run uses 125 for errors of the Docker daemon itself.
DOCKER_ERROR_EXIT = 125
# Exit status of a pipeline stopped by Ctrl-C between stages (128 + SIGINT).
INTERRUPTED_EXIT = 130
# Exit status of a stage whose working directory is missing, as when a
# shell's cd fails before the command.
MISSING_WORKDIR_EXIT = 1


# Callback for the progress lines of run_pipeline. Its second argument is True
# for a line that reports an error, which is a stage that could not start or a
# stage whose failure stops the pipeline.
Progress = Callable[[str, bool], None]


@dataclass
class PipelineResult:
    """Result of ``run_pipeline``: ctprof's exit status and the pipeline directory."""

    exit_code: int
    directory: str
    summary: dict


def stage_directory_name(number: int, stage: Stage) -> str:
    return f"{number:02d}-{stage.name}"


def docker_args(stage: Stage) -> list[str]:
    """Return the ``docker run`` arguments of an image stage (options, image, command).

    Stages run with --rm, so a pipeline leaves no stopped containers behind.
    """
    args = list(stage.docker_options)
    if "--rm" not in args:
        args.insert(0, "--rm")
    for key, value in stage.env.items():
        args += ["-e", f"{key}={value}"]
    if stage.workdir is not None:
        args += ["-w", stage.workdir]
    args.append(stage.image or "")
    args += stage.command or []
    return args


def planned_stages(pipeline: Pipeline, first: int) -> list[dict]:
    """Describe every stage of the file for meta.json, marking those that run."""
    out = []
    for index, stage in enumerate(pipeline.stages):
        item = {
            "number": index + 1,
            "name": stage.name,
            "kind": stage.kind,
            "directory": stage_directory_name(index + 1, stage),
            "runs": index >= first,
            "continue_on_error": stage.continue_on_error,
        }
        if stage.run is not None:
            item["run"] = stage.run
            item["workdir"] = stage.workdir
        else:
            item["docker_args"] = docker_args(stage)
        out.append(item)
    return out


def check_container_stages(pipeline: Pipeline) -> None:
    """Validate the docker run options of every image stage before any stage runs.

    Raises UsageError naming the file, the stage's line and the option.
    """
    from ..docker_args import parse_run_args

    for stage in pipeline.stages:
        if stage.image is None:
            continue
        try:
            parse_run_args(docker_args(stage))
        except UsageError as exc:
            raise UsageError(
                f"{pipeline.file} line {stage.line}: stage {stage.name!r}: {exc}"
            ) from None


def _write_meta(directory: str, meta: dict) -> None:
    meta = dict(meta)
    meta["format_version"] = store.FORMAT_VERSION
    store.write_json_atomic(os.path.join(directory, store.META), meta)


def check_stage_outputs(directory: str, planned: list[dict], force: bool) -> None:
    """Check that every stage that runs can write its run directory.

    This runs before the pipeline directory is prepared, because --force
    removes the earlier result there, and a stage that failed afterwards
    would leave neither the earlier result nor a new one. Without --force the
    pipeline directory must be empty, so no stage directory can be in the way.
    """
    if not force or not os.path.isdir(directory):
        return
    for item in planned:
        if not item["runs"]:
            continue
        path = os.path.join(directory, item["directory"])
        if not os.path.lexists(path):
            continue
        if not os.path.isdir(path):
            raise UsageError(
                f"stage output {path} exists and is not a directory; "
                "remove it or choose another -o"
            )
        if not os.access(path, os.W_OK | os.X_OK):
            raise UsageError(
                f"cannot write to stage output directory {path}; "
                "fix its permissions or choose another -o"
            )


def _run_stage(
    stage: Stage, output: str, interval: float, levels: tuple[str, ...], force: bool
) -> RunResult:
    if stage.run is not None:
        return run_command(
            stage.run,
            interval,
            levels,
            output,
            name=stage.name,
            force=force,
            extra_env=stage.env,
            cwd=stage.workdir,
        )
    from ..docker_launch import run_container

    return run_container(
        docker_args(stage), interval, levels, output, stage.name, force=force
    )


def _stage_result(
    stage: Stage,
    planned: dict,
    directory: str,
    interval: float,
    levels: tuple[str, ...],
    force: bool,
) -> dict:
    """Run one stage and return its entry of summary.json.

    ``force`` lets the stage write into a stage directory that --force kept,
    because it contains files that are not ctprof's.
    """
    output = os.path.join(directory, planned["directory"])
    try:
        result = _run_stage(stage, output, interval, levels, force)
    except CommandNotFound as exc:
        return stage_error_entry(planned, exc.exit_code, str(exc))
    except CtprofError as exc:
        if stage.image is None:
            raise
        # A container that cannot be created (unknown image, daemon down)
        # fails its stage like a command that cannot start.
        code = getattr(exc, "exit_code", DOCKER_ERROR_EXIT)
        return stage_error_entry(planned, code, str(exc))
    entry = stage_entry(planned, output, result.summary)
    entry["exit_code"] = result.exit_code
    if result.meta.get("signals_forwarded"):
        entry["signals_forwarded"] = result.meta["signals_forwarded"]
    return entry


def _missing_workdir_entry(
    pipeline: Pipeline, stage: Stage, planned: dict
) -> dict | None:
    """Return the summary entry of a command stage whose working directory
    does not exist, or None when it exists (or the stage is an image stage)."""
    if stage.run is None or os.path.isdir(stage.workdir or "."):
        return None
    return stage_error_entry(
        planned,
        MISSING_WORKDIR_EXIT,
        f"working directory {stage.workdir} does not exist; create it in an "
        f"earlier stage or fix {pipeline.workdir_setting(stage)}",
    )


def _stops_pipeline(stage: Stage, entry: dict) -> bool:
    if entry["exit_code"] == 0:
        return False
    # Ctrl-C or a TERM sent to ctprof stops the pipeline, even past a stage
    # with continue_on_error.
    if entry.get("signals_forwarded"):
        return True
    return not stage.continue_on_error


def run_pipeline(
    pipeline: Pipeline,
    interval: float,
    levels: tuple[str, ...],
    output: str | None = None,
    force: bool = False,
    from_stage: str | None = None,
    progress: Progress | None = None,
) -> PipelineResult:
    """Run the stages in order and write the pipeline directory.

    A stage that exits non-zero stops the pipeline unless it has
    continue_on_error; the result's exit code is then that stage's status.
    summary.json is written even when ctprof itself is interrupted.
    Everything that can be checked before the first stage is checked before
    anything is written, so an invalid request leaves an earlier result in
    ``output`` as it was, even with ``force``.
    """
    first = pipeline.stage_index(from_stage) if from_stage else 0
    check_container_stages(pipeline)
    planned = planned_stages(pipeline, first)
    if output is not None:
        check_stage_outputs(output, planned, force)
    directory = prepare_output(output or default_output(pipeline.name), force)
    meta: dict[str, object] = {
        "kind": KIND,
        "name": pipeline.name,
        "file": pipeline.file,
        "workdir": pipeline.workdir,
        "from_stage": from_stage,
        "status": "running",
        "levels": list(levels),
        "interval_seconds": interval,
        "mode": "time-series" if interval > 0 else "delta",
        "stages": planned,
        "start": iso(now_wall()),
    }
    _write_meta(directory, meta)
    entries: list[dict] = []
    failed: dict | None = None
    # "aborted" remains when an unexpected error ends the loop.
    status = "aborted"
    try:
        for index in range(first, len(pipeline.stages)):
            stage = pipeline.stages[index]
            _report(progress, f"stage {index + 1}/{len(pipeline.stages)} {stage.name}")
            entry = _missing_workdir_entry(pipeline, stage, planned[index])
            if entry is None:
                entry = _stage_result(
                    stage, planned[index], directory, interval, levels, force
                )
            entries.append(entry)
            stops = _stops_pipeline(stage, entry)
            _report(progress, _stage_line(entry), error=stops or "error" in entry)
            if stops:
                failed = entry
                break
        status = "complete"
    except KeyboardInterrupt:
        # Ctrl-C between two stages; during a stage the command receives it.
        status = "interrupted"
        raise
    finally:
        summary = pipeline_summary(pipeline.name, planned, entries, failed)
        summary["status"] = status
        if status == "interrupted" and failed is None:
            summary["exit_code"] = INTERRUPTED_EXIT
        store.write_json_atomic(os.path.join(directory, store.SUMMARY), summary)
        meta.update(
            {
                "status": status,
                "end": iso(now_wall()),
                "exit_code": summary["exit_code"],
                "failed_stage": summary.get("failed_stage"),
            }
        )
        _write_meta(directory, meta)
    return PipelineResult(summary["exit_code"], directory, summary)


def _report(progress: Progress | None, line: str, error: bool = False) -> None:
    log.info("%s", line)
    if progress is not None:
        progress(line, error)


def _stage_line(entry: dict) -> str:
    if entry.get("error"):
        return (
            f"stage {entry['name']} did not start: {entry['error']} "
            f"(exit status {entry['exit_code']})"
        )
    elapsed = entry.get("elapsed_seconds")
    took = "" if elapsed is None else f" after {elapsed:.2f} s"
    return f"stage {entry['name']} exited with status {entry['exit_code']}{took}"
