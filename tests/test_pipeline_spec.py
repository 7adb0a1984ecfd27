"""Pipeline files: what validates, and the one-line error for what does not."""

from __future__ import annotations

import os

import pytest

from ctprof.errors import UsageError
from ctprof.pipeline.spec import load_pipeline, parse_pipeline

from conftest import ctprof

# (file text, line the error names, words the message contains)
INVALID = [
    ("stages:\n  - name: a\n    run: [echo, hi\n", 4, "invalid YAML"),
    ("name: x\nstages:\n  - name: a\n    run: echo: hi\n", 4, "invalid YAML"),
    ("stages: []\n", 1, "non-empty list"),
    ("name: x\nstages:\n", 2, "non-empty list"),
    ("name: only\n", 1, "missing key 'stages'"),
    ("", 1, "the file is empty"),
    ("stages:\n  - name: a\n    env: {A: b}\n", 2, "neither run nor image"),
    ("stages:\n  - name: a\n    run: [x]\n    imagee: y\n", 4, "unknown key 'imagee'"),
    ("name: x\ncolour: blue\nstages:\n  - {name: a, run: [x]}\n", 2, "'colour'"),
    ("stages:\n  - run: [x]\n", 2, "has no name"),
    ("stages:\n  - name: a\n    run: echo hi\n", 3, "add shell: true"),
    ("stages:\n  - name: a\n    run: [x]\n    image: y\n", 4, "both run and image"),
    ("stages:\n  - name: a\n    run: [x]\n    command: [y]\n", 4, "not valid in a run"),
    ("stages:\n  - name: a\n    image: y\n    workdir: rel\n", 4, "must be absolute"),
    ("stages:\n  - {name: a, run: [x]}\n  - {name: a, run: [y]}\n", 3, "duplicate"),
    ("stages:\n  - name: a\n    run: [x]\n    name: b\n", 4, "duplicate key 'name'"),
    ("stages:\n  - {name: a/b, run: [x]}\n", 2, "invalid stage name"),
    ("interval: fast\nstages:\n  - {name: a, run: [x]}\n", 1, "invalid interval"),
    ("levels: gpu\nstages:\n  - {name: a, run: [x]}\n", 1, "invalid levels"),
    ("stages:\n  - name: a\n    run: [x]\n    env: {1A: b}\n", 4, "environment"),
    ("stages:\n  - name: a\n    run: [x]\n    continue_on_error: 2\n", 4, "true or"),
    ("stages:\n  - name: a\n    run: [x, {k: v}]\n", 3, "only strings"),
    ("stages:\n  - just-a-string\n", 1, "must be a mapping"),
]


@pytest.mark.parametrize("text,line,words", INVALID)
def test_invalid_file_names_line(tmp_path, text, line, words):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(UsageError) as caught:
        load_pipeline(str(path))
    message = str(caught.value)
    assert message.startswith(f"{path} line {line}: "), message
    assert words in message
    assert "\n" not in message


def test_cli_rejects_invalid_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("stages:\n  - name: a\n    runn: [true]\n")
    proc = ctprof("pipeline", str(path), "-o", str(tmp_path / "out"))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "line 3" in lines[0]
    assert "unknown key 'runn'" in lines[0]
    assert not (tmp_path / "out").exists()


def test_cli_rejects_missing_file(tmp_path):
    proc = ctprof("pipeline", str(tmp_path / "absent.yaml"))
    assert proc.returncode == 2
    assert "cannot read pipeline file" in proc.stderr


def test_valid_file_fills_defaults(tmp_path):
    text = """\
stages:
  - name: build
    run: [make, -j2]
  - name: shell-step
    run: "echo $HOME | wc -c"
    shell: true
    env: {N: 3, NAME: x}
    workdir: sub
    continue_on_error: true
  - name: box
    image: busybox:latest
    command: [sh, -c, "echo hi"]
    docker_options: [--memory, 64m]
    workdir: /tmp
"""
    file = str(tmp_path / "my-flow.yaml")
    pipeline = parse_pipeline(text, file)

    assert pipeline.name == "my-flow"
    assert pipeline.workdir == str(tmp_path)
    assert pipeline.interval is None
    assert pipeline.levels is None
    build, shell_step, box = pipeline.stages
    assert build.run == ["make", "-j2"]
    assert build.kind == "command"
    assert build.workdir == str(tmp_path)
    assert build.continue_on_error is False
    assert shell_step.run == ["sh", "-c", "echo $HOME | wc -c"]
    assert shell_step.env == {"N": "3", "NAME": "x"}
    assert shell_step.workdir == os.path.join(str(tmp_path), "sub")
    assert shell_step.continue_on_error is True
    assert box.kind == "image"
    assert box.image == "busybox:latest"
    assert box.command == ["sh", "-c", "echo hi"]
    assert box.docker_options == ["--memory", "64m"]
    assert box.workdir == "/tmp"
    assert [s.line for s in pipeline.stages] == [2, 4, 10]


def test_top_level_settings(tmp_path):
    text = """\
name: flow
workdir: data
interval: 0.25
levels: [host, container]
stages:
  - {name: a, run: [x]}
"""
    pipeline = parse_pipeline(text, str(tmp_path / "p.yaml"))
    assert pipeline.name == "flow"
    assert pipeline.workdir == str(tmp_path / "data")
    assert pipeline.interval == 0.25
    assert pipeline.levels == ("host", "container")
    assert pipeline.stages[0].workdir == str(tmp_path / "data")


def test_workdir_setting_names_its_line(tmp_path):
    text = """\
name: flow
workdir: data
stages:
  - {name: inherits, run: [x]}
  - name: own
    run: [x]
    workdir: sub
"""
    pipeline = parse_pipeline(text, str(tmp_path / "p.yaml"))
    inherits, own = pipeline.stages
    assert pipeline.workdir_line == 2
    assert pipeline.workdir_setting(inherits) == "the top-level workdir on line 2"
    assert own.workdir_line == 7
    assert pipeline.workdir_setting(own) == "the workdir of the stage on line 5"

    default = parse_pipeline(
        "stages:\n  - {name: a, run: [x]}\n", str(tmp_path / "d.yaml")
    )
    assert default.workdir_line is None
    assert str(tmp_path / "d.yaml") in default.workdir_setting(default.stages[0])
