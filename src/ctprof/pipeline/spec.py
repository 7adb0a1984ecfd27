"""The pipeline file: YAML loading with line numbers, and validation.

Schema (every other key is an error naming the key and its line)::

    name: rnaseq                 # optional, default: the file name
    workdir: data                # optional, relative to the file's directory
    interval: 0.5                # optional, seconds between samples; 0 = delta
    levels: host,container       # optional, as ctprof run -l (string or list)
    stages:                      # required, at least one
      - name: download           # required, unique; letters, digits, _ . -
        run: [curl, -o, r.fq, http://127.0.0.1:8000/r.fq]
        env: {LC_ALL: C}         # optional, added to the environment
        workdir: sub             # optional, relative to the top-level workdir
        continue_on_error: false # optional
      - name: count
        run: "wc -l r.fq > n.txt"
        shell: true              # a string run needs shell: true (sh -c)
      - name: in-a-container
        image: busybox:latest    # instead of run
        command: [sh, -c, "echo hi"]   # optional; a string needs shell: true
        docker_options: [--memory, 256m]   # optional, given to docker run
        workdir: /tmp            # optional, absolute: docker run -w
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from ..errors import UsageError
from ..recording import parse_interval, parse_levels
from .yaml_lines import LineDict, SpecError, parse_yaml

TOP_KEYS = ("name", "workdir", "interval", "levels", "stages")
COMMON_STAGE_KEYS = ("name", "env", "workdir", "continue_on_error", "shell")
RUN_STAGE_KEYS = (*COMMON_STAGE_KEYS, "run")
IMAGE_STAGE_KEYS = (*COMMON_STAGE_KEYS, "image", "command", "docker_options")
ALL_STAGE_KEYS = tuple(dict.fromkeys(RUN_STAGE_KEYS + IMAGE_STAGE_KEYS))

# Stage names become directory names ("01-download") and delta window names.
_STAGE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass
class Stage:
    """One step of a pipeline: a command profiled in its own cgroup, or a container."""

    name: str
    # 1-based line of the stage's entry in the pipeline file.
    line: int
    # argv of a command stage (already wrapped in sh -c for shell: true).
    run: list[str] | None = None
    image: str | None = None
    # Container command; None keeps the image's default command.
    command: list[str] | None = None
    docker_options: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    # Absolute directory for command stages; directory inside the container
    # for image stages; None for the default.
    workdir: str | None = None
    # Line of the stage's own workdir key, or None when the stage has none.
    workdir_line: int | None = None
    continue_on_error: bool = False

    @property
    def kind(self) -> str:
        return "image" if self.image is not None else "command"


@dataclass
class Pipeline:
    """A validated pipeline file."""

    name: str
    # Absolute path of the pipeline file.
    file: str
    # Absolute working directory of command stages without their own workdir.
    workdir: str
    # Line of the top-level workdir key, or None when the file sets none.
    workdir_line: int | None
    # Seconds between samples from the file, None when the file sets none.
    interval: float | None
    # Levels from the file, None when the file sets none.
    levels: tuple[str, ...] | None
    stages: list[Stage]

    def stage_index(self, name: str) -> int:
        """Return the position of the stage called ``name``, raising UsageError."""
        for index, stage in enumerate(self.stages):
            if stage.name == name:
                return index
        known = ", ".join(s.name for s in self.stages)
        raise UsageError(
            f"--from-stage {name!r} is not a stage of {self.file}; "
            f"choose one of: {known}"
        )

    def workdir_setting(self, stage: Stage) -> str:
        """Name the setting that gives a command stage its working directory,
        for messages: its own workdir, the top-level one or the default."""
        if stage.workdir_line is not None:
            return f"the workdir of the stage on line {stage.line}"
        if self.workdir_line is not None:
            return f"the top-level workdir on line {self.workdir_line}"
        return f"the directory of {self.file}, which is the default workdir"


def load_pipeline(path: str) -> Pipeline:
    """Read and validate a pipeline file, raising UsageError with file and line."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise UsageError(
            f"cannot read pipeline file {path}: {exc.strerror}; check the path"
        ) from None
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"pipeline file {path} is not UTF-8 text ({exc.reason}); save it as UTF-8"
        ) from None
    try:
        return parse_pipeline(text, os.path.abspath(path))
    except SpecError as exc:
        raise UsageError(f"{path} line {exc.line}: {exc.message}") from None


def parse_pipeline(text: str, file: str) -> Pipeline:
    """Validate the text of a pipeline file; ``file`` is its absolute path."""
    document = parse_yaml(text)
    if document is None:
        raise SpecError(1, "the file is empty; give a mapping with a 'stages' list")
    if not isinstance(document, LineDict):
        raise SpecError(
            1, "expected a mapping with a stages list at the top of the file"
        )
    _check_keys(document, TOP_KEYS, "at the top level")
    base = os.path.dirname(file)
    name = (
        _optional_str(document, "name") or os.path.splitext(os.path.basename(file))[0]
    )
    workdir_text = _optional_str(document, "workdir")
    workdir = os.path.normpath(os.path.join(base, workdir_text or "."))
    workdir_line = document.line_of("workdir") if workdir_text else None
    interval = _top_interval(document)
    levels = _top_levels(document)
    stages = _stages(document, workdir)
    return Pipeline(name, file, workdir, workdir_line, interval, levels, stages)


def _check_keys(mapping: LineDict, allowed: tuple[str, ...], where: str) -> None:
    for key in mapping:
        if key not in allowed:
            raise SpecError(
                mapping.line_of(key),
                f"unknown key {key!r} {where}; expected one of: {', '.join(allowed)}",
            )


def _optional_str(mapping: LineDict, key: str) -> str | None:
    value = mapping.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise SpecError(
            mapping.line_of(key), f"{key} must be a non-empty string, got {value!r}"
        )
    return value


def _top_interval(document: LineDict) -> float | None:
    if "interval" not in document:
        return None
    value = document["interval"]
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise SpecError(
            document.line_of("interval"),
            f"interval must be a number of seconds, got {value!r}",
        )
    try:
        return parse_interval(value)
    except UsageError:
        raise SpecError(
            document.line_of("interval"),
            f"invalid interval {value!r}: give seconds ≥ 0.01, or 0 for delta mode",
        ) from None


def _top_levels(document: LineDict) -> tuple[str, ...] | None:
    if "levels" not in document:
        return None
    value = document["levels"]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = ",".join(value)
    if not isinstance(value, str):
        raise SpecError(
            document.line_of("levels"),
            f"levels must be a string like host,container or a list, got {value!r}",
        )
    try:
        return parse_levels(value)
    except UsageError:
        raise SpecError(
            document.line_of("levels"),
            f"invalid levels {value!r}: use host, container, process "
            "or the letters v (VM/host), c, p",
        ) from None


def _stages(document: LineDict, workdir: str) -> list[Stage]:
    if "stages" not in document:
        raise SpecError(
            document.line, "missing key 'stages'; list the stages to run in order"
        )
    items = document["stages"]
    line = document.line_of("stages")
    if not isinstance(items, list) or not items:
        raise SpecError(
            line, "stages must be a non-empty list; give at least one stage"
        )
    stages: list[Stage] = []
    seen: dict[str, int] = {}
    for position, item in enumerate(items, 1):
        if not isinstance(item, LineDict):
            raise SpecError(
                line,
                f"stage {position} must be a mapping with name and run or image, "
                f"got {item!r}",
            )
        stage = _stage(item, position, workdir)
        if stage.name in seen:
            raise SpecError(
                item.line_of("name"),
                f"duplicate stage name {stage.name!r} (first on line "
                f"{seen[stage.name]}); give each stage its own name",
            )
        seen[stage.name] = stage.line
        stages.append(stage)
    return stages


def _stage(item: LineDict, position: int, workdir: str) -> Stage:
    name = _stage_name(item, position)
    _check_keys(item, ALL_STAGE_KEYS, f"in stage {name!r}")
    is_command = _check_stage_kind(item, name)

    stage = Stage(name=name, line=item.line)
    shell = _bool(item, "shell")
    stage.env = _env(item)
    stage.continue_on_error = _bool(item, "continue_on_error")
    if is_command:
        stage.run = _argv(item, "run", shell, required=True)
        stage_dir = _optional_str(item, "workdir")
        stage.workdir = os.path.normpath(os.path.join(workdir, stage_dir or "."))
    else:
        stage.image = _optional_str(item, "image")
        stage.command = _argv(item, "command", shell, required=False)
        stage.docker_options = _string_list(item, "docker_options")
        stage.workdir = _container_workdir(item)
    if "workdir" in item:
        stage.workdir_line = item.line_of("workdir")
    return stage


def _stage_name(item: LineDict, position: int) -> str:
    name = item.get("name")
    if name is None:
        raise SpecError(item.line, f"stage {position} has no name; add name: NAME")
    if not isinstance(name, str) or not _STAGE_NAME.match(name):
        raise SpecError(
            item.line_of("name"),
            f"invalid stage name {name!r}: use letters, digits, '_', '.' and '-', "
            "starting with a letter or digit",
        )
    return name


def _check_stage_kind(item: LineDict, name: str) -> bool:
    """Check that the stage has exactly one of run and image, and only the keys
    of its kind; return True for a command (run) stage."""
    has_run = "run" in item
    has_image = "image" in item
    if has_run and has_image:
        raise SpecError(
            item.line_of("image"),
            f"stage {name!r} has both run and image; keep one",
        )
    if not has_run and not has_image:
        raise SpecError(
            item.line,
            f"stage {name!r} has neither run nor image; add run: [PROGRAM, ARGS] "
            "or image: IMAGE",
        )
    allowed = RUN_STAGE_KEYS if has_run else IMAGE_STAGE_KEYS
    kind = "a run stage" if has_run else "an image stage"
    for key in item:
        if key not in allowed:
            raise SpecError(
                item.line_of(key), f"key {key!r} is not valid in {kind} ({name!r})"
            )
    return has_run


def _bool(item: LineDict, key: str) -> bool:
    value = item.get(key, False)
    if not isinstance(value, bool):
        raise SpecError(
            item.line_of(key), f"{key} must be true or false, got {value!r}"
        )
    return value


def _argv(item: LineDict, key: str, shell: bool, required: bool) -> list[str] | None:
    value = item.get(key)
    line = item.line_of(key)
    if value is None:
        if required:
            raise SpecError(line, f"{key} is empty; give the command to run")
        if shell:
            raise SpecError(line, f"shell: true needs {key} as a string")
        return None
    if isinstance(value, str):
        if not value.strip():
            raise SpecError(line, f"{key} is empty; give the command to run")
        if not shell:
            raise SpecError(
                line,
                f"{key} is a string; add shell: true to run it with sh -c, "
                "or give a list [PROGRAM, ARG, ...]",
            )
        return ["sh", "-c", value]
    if shell:
        raise SpecError(
            line, f"shell: true needs {key} as one string, got a {type(value).__name__}"
        )
    argv = _scalars_as_strings(value, key, line)
    if not argv:
        raise SpecError(line, f"{key} is an empty list; give the command to run")
    return argv


def _scalars_as_strings(value, key: str, line: int) -> list[str]:
    if not isinstance(value, list):
        raise SpecError(
            line, f"{key} must be a list of strings, got {type(value).__name__}"
        )
    out = []
    for element in value:
        if isinstance(element, bool) or not isinstance(element, (str, int, float)):
            raise SpecError(
                line,
                f"{key} must contain only strings and numbers, got {element!r}; "
                "quote it",
            )
        out.append(str(element))
    return out


def _string_list(item: LineDict, key: str) -> list[str]:
    if key not in item:
        return []
    return _scalars_as_strings(item[key], key, item.line_of(key))


def _env(item: LineDict) -> dict[str, str]:
    value = item.get("env")
    if value is None:
        return {}
    line = item.line_of("env")
    if not isinstance(value, LineDict):
        raise SpecError(line, f"env must be a mapping NAME: value, got {value!r}")
    env = {}
    for key, setting in value.items():
        if not _ENV_NAME.match(key):
            raise SpecError(
                value.line_of(key),
                f"invalid environment variable name {key!r}; use letters, digits "
                "and '_', not starting with a digit",
            )
        if isinstance(setting, bool) or not isinstance(setting, (str, int, float)):
            raise SpecError(
                value.line_of(key),
                f"env {key} must be a string or a number, got {setting!r}; quote it",
            )
        env[key] = str(setting)
    return env


def _container_workdir(item: LineDict) -> str | None:
    workdir = _optional_str(item, "workdir")
    if workdir is not None and not workdir.startswith("/"):
        raise SpecError(
            item.line_of("workdir"),
            f"workdir {workdir!r} of an image stage is a path inside the container "
            "and must be absolute, e.g. /data",
        )
    return workdir
