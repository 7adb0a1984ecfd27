"""Real runs shared by the plot, html, export, delta and compare tests.

Each run is made once per test session with ``ctprof run`` and cached, because
a run takes a few seconds on a 2-core machine.
"""

from __future__ import annotations

import json
import os
import shutil
import sys

from conftest import WORKLOADS, ctprof, needs_root

# A command line that a report must show as text, never run as markup.
HOSTILE_ARG = "<script>document.title='pwned'</script>"

_cache: dict[str, str] = {}


def phases_argv(seconds: float = 2.0, mib: int = 8) -> list[str]:
    script = os.path.join(WORKLOADS, "phases.py")
    return [sys.executable, script, str(seconds), str(mib), HOSTILE_ARG]


def make_run(factory, key: str, *run_args: str, seconds: float = 2.0) -> str:
    """Return the directory of a cached run made with ``ctprof run RUN_ARGS``."""
    if key in _cache:
        return _cache[key]
    needs_root()
    directory = str(factory.mktemp(key) / "run")
    workdir = str(factory.mktemp(f"{key}-cwd"))
    proc = ctprof(
        "run",
        "-q",
        "-o",
        directory,
        "--name",
        key,
        *run_args,
        "--",
        *phases_argv(seconds),
        cwd=workdir,
    )
    assert proc.returncode == 0, proc.stderr
    _cache[key] = directory
    return directory


def timeseries_run(factory) -> str:
    return make_run(factory, "series", "-i", "0.1")


def delta_run(factory) -> str:
    return make_run(factory, "delta", seconds=1.0)


def pipeline_run(factory) -> str:
    """Return a pipeline directory built by hand from two real stage runs."""
    if "pipeline" in _cache:
        return _cache["pipeline"]
    root = factory.mktemp("pipeline") / "pipe"
    root.mkdir()
    stages = []
    for name, seconds in (("prepare", 1.0), ("align", 1.5)):
        source = make_run(factory, f"stage-{name}", "-i", "0.1", seconds=seconds)
        shutil.copytree(source, root / name)
        summary = json.loads((root / name / "summary.json").read_text())
        meta = json.loads((root / name / "meta.json").read_text())
        stages.append(
            {
                "name": name,
                "exit_code": 0,
                "directory": name,
                "start": meta["start"],
                "end": meta["end"],
                **summary,
            }
        )
    meta = {"kind": "pipeline", "name": "pipe", "format_version": 1}
    (root / "meta.json").write_text(json.dumps(meta))
    summary = {"stages": stages, "total": {}}
    (root / "summary.json").write_text(json.dumps(summary))
    _cache["pipeline"] = str(root)
    return str(root)
