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


def _run_stage(
    stage: Stage, output: str, interval: float, levels: tuple[str, ...]
) -> RunResult:
    if stage.run is not None:
        return run_command(
            stage.run,
            interval,
            levels,
            output,
            name=stage.name,
            extra_env=stage.env,
            cwd=stage.workdir,
        )
    from ..docker_launch import run_container

    return run_container(docker_args(stage), interval, levels, output, stage.name)


def _stage_result(
    stage: Stage, planned: dict, directory: str, interval: float, levels
) -> dict:
    """Run one stage and return its entry of summary.json."""
    output = os.path.join(directory, planned["directory"])
    if stage.run is not None and not os.path.isdir(stage.workdir or "."):
        return stage_error_entry(
            planned,
            MISSING_WORKDIR_EXIT,
            f"working directory {stage.workdir} does not exist; create it in an "
            f"earlier stage or fix the workdir of the stage on line {stage.line}",
        )
    try:
        result = _run_stage(stage, output, interval, levels)
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
    progress: Callable[[str], None] | None = None,
) -> PipelineResult:
    """Run the stages in order and write the pipeline directory.

    A stage that exits non-zero stops the pipeline unless it has
    continue_on_error; the result's exit code is then that stage's status.
    summary.json is written even when ctprof itself is interrupted.
    """
    first = pipeline.stage_index(from_stage) if from_stage else 0
    check_container_stages(pipeline)
    directory = prepare_output(output or default_output(pipeline.name), force)
    planned = planned_stages(pipeline, first)
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
            entry = _stage_result(stage, planned[index], directory, interval, levels)
            entries.append(entry)
            _report(progress, _stage_line(entry))
            if _stops_pipeline(stage, entry):
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


def _report(progress: Callable[[str], None] | None, line: str) -> None:
    log.info("%s", line)
    if progress is not None:
        progress(line)


def _stage_line(entry: dict) -> str:
    elapsed = entry.get("elapsed_seconds")
    took = "" if elapsed is None else f" after {elapsed:.2f} s"
    text = f"stage {entry['name']} exited with status {entry['exit_code']}{took}"
    if entry.get("error"):
        text += f": {entry['error']}"
    return text
