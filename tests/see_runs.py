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


def scaled_run(factory, samples: int = 10_000, processes: int = 100) -> str:
    """Return a run of ``samples`` samples with ``processes`` processes each.

    Recording 10,000 samples takes 100 s at the 10 ms minimum interval, so the
    run is scaled up from a real one: its samples are repeated with counters
    carried forward, and each sample lists ``processes`` process rows.
    """
    key = f"scaled-{samples}-{processes}"
    if key in _cache:
        return _cache[key]
    from ctprof import catalog
    from ctprof.analysis.summary import summarize
    from ctprof.store import RunWriter, iter_samples

    source = timeseries_run(factory)
    real = list(iter_samples(source))
    with open(os.path.join(source, "meta.json")) as f:
        meta = json.load(f)
    directory = str(factory.mktemp(key) / "run")
    writer = RunWriter(directory)
    writer.write_meta({**meta, "name": key, "samples": samples})
    written = []
    for k in range(samples):
        sample = _scaled_sample(real, k, processes, catalog)
        writer.write_sample(sample)
        written.append(sample)
    writer.write_summary(summarize(meta, written))
    writer.close()
    _cache[key] = directory
    return directory


def _scaled_sample(real: list[dict], k: int, processes: int, catalog) -> dict:
    template = real[k % len(real)]
    cycle = k // len(real)
    sample = json.loads(json.dumps(template))
    sample["seq"] = k
    sample["kind"] = "start" if k == 0 else "sample"
    sample["t"] = real[0]["t"] + 0.01 * k
    sample["mono"] = real[0]["mono"] + 0.01 * k
    for level in (catalog.HOST, catalog.CONTAINER):
        _carry_counters(
            sample[level], real[0][level], real[-1][level], cycle, level, catalog
        )
    first_row = real[1]["processes"][0]
    rows = []
    for j in range(processes):
        row = list(first_row)
        row[0] = 100_000 + j
        row[1] = real[0]["t"]
        row[2] = f"worker-{j}"
        row[6] = round(0.001 * k * (1 + j % 7), 2)
        rows.append(row)
    sample["processes"] = rows
    if k == 0:
        sample["new_processes"] = [
            {
                "pid": 100_000 + j,
                "start_time_seconds": real[0]["t"],
                "name": f"worker-{j}",
                "cmdline": f"worker --id {j} {HOSTILE_ARG}",
            }
            for j in range(processes)
        ]
    else:
        sample.pop("new_processes", None)
    return sample


def _carry_counters(
    values: dict, first: dict, last: dict, cycle: int, level: str, catalog
) -> None:
    """Add ``cycle`` times the real run's increase to every counter, in place."""
    for name, value in values.items():
        if isinstance(value, dict):
            for label, fields in value.items():
                _carry_counters(
                    fields,
                    first.get(name, {}).get(label, {}),
                    last.get(name, {}).get(label, {}),
                    cycle,
                    level,
                    catalog,
                )
            continue
        metric = catalog.metric_for_column(catalog.column_name(level, name))
        if metric is None or not metric.is_counter or value is None:
            continue
        increase = (last.get(name) or 0) - (first.get(name) or 0)
        # Rounded so that float error never makes a counter step backwards.
        values[name] = round(value + cycle * increase, 9)


def real_pipeline_run(factory) -> str:
    """Return a pipeline recorded by ``ctprof pipeline`` with stages "burn" and
    "write", names that the workload also uses for its marks."""
    if "real-pipeline" in _cache:
        return _cache["real-pipeline"]
    needs_root()
    root = factory.mktemp("real-pipeline")
    stages = [("burn", phases_argv(1.0, 2)), ("write", phases_argv(1.0, 8))]
    lines = ["name: twostage", "interval: 0.1", "stages:"]
    for name, argv in stages:
        lines.append(f"  - name: {name}")
        lines.append(f"    run: {json.dumps(argv)}")
    spec = root / "pipeline.yaml"
    spec.write_text("\n".join(lines) + "\n")
    directory = str(root / "out")
    proc = ctprof("pipeline", "-q", "-o", directory, str(spec), cwd=str(root))
    assert proc.returncode == 0, proc.stderr
    _cache["real-pipeline"] = directory
    return directory
