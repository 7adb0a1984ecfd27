"""``ctprof plot`` on real runs: images, rates, delta runs, killed runs, pipelines."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from ctprof import catalog
from ctprof.analysis.rates import rate_frame
from ctprof.analysis.tasks import load_tasks, task_table, timeline
from ctprof.render.panels import run_figures
from ctprof.render.plots import draw_figure, draw_tasks
from see_runs import delta_run, phases_argv, pipeline_run, timeseries_run

from conftest import ctprof, read_samples

pytestmark = pytest.mark.slow


def _assert_nonblank_png(path: str) -> None:
    with Image.open(path) as image:
        width, height = image.size
        pixels = np.asarray(image.convert("L"), dtype=float)
    assert width >= 800, path
    assert height >= 250, path
    # A blank figure is one colour, while lines and filled areas are not white.
    assert pixels.std() > 10, path
    assert (pixels < 200).mean() > 0.01, path


def test_plot_writes_nonblank_pngs(tmp_path_factory, tmp_path):
    run = timeseries_run(tmp_path_factory)
    proc = ctprof("plot", run, "-o", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    written = proc.stdout.split()
    names = {os.path.basename(p) for p in written}
    for expected in ("cpu.png", "memory.png", "disk.png", "processes.png"):
        assert expected in names
    for path in written:
        _assert_nonblank_png(path)


def test_plot_svg_format(tmp_path_factory, tmp_path):
    run = timeseries_run(tmp_path_factory)
    proc = ctprof("plot", run, "-o", str(tmp_path), "--format", "svg")
    assert proc.returncode == 0, proc.stderr
    cpu = tmp_path / "cpu.svg"
    assert cpu.exists()
    assert "<svg" in cpu.read_text()[:500]


def test_counter_rate_equals_hand_computed(tmp_path_factory):
    run = timeseries_run(tmp_path_factory)
    samples = read_samples(run)
    name = "cpu_usage_seconds_total"
    column = catalog.column_name(catalog.CONTAINER, name)
    frame = rate_frame(samples)
    assert np.isnan(frame[column].iloc[0])
    for i in range(1, len(samples)):
        dt = samples[i]["mono"] - samples[i - 1]["mono"]
        expected = (
            samples[i]["container"][name] - samples[i - 1]["container"][name]
        ) / dt
        assert frame[column].iloc[i] == pytest.approx(expected, rel=1e-9)


def test_plotted_line_is_the_rate(tmp_path_factory):
    """The line drawn for container CPU contains the hand-computed rates."""
    run = timeseries_run(tmp_path_factory)
    samples = read_samples(run)
    series = timeline(run, top=3)
    figure = next(f for f in run_figures(series.frame, series.procs) if f.key == "cpu")
    fig = draw_figure(figure, series, "test")
    ax = next(a for a in fig.axes if a.get_title(loc="left") == "Container CPU used")
    line = next(ln for ln in ax.get_lines() if ln.get_label() == "total")
    x = np.asarray(line.get_xdata(), dtype=float)
    y = np.asarray(line.get_ydata(), dtype=float)
    name = "cpu_usage_seconds_total"
    i = len(samples) // 2
    dt = samples[i]["mono"] - samples[i - 1]["mono"]
    expected = (samples[i]["container"][name] - samples[i - 1]["container"][name]) / dt
    assert x[i] == pytest.approx(samples[i]["mono"] - samples[0]["mono"], abs=1e-6)
    assert y[i] == pytest.approx(expected, rel=1e-9)
    # The workload burns one core for most of the run.
    assert np.nanmax(y) > 0.5


def test_plot_shades_marks(tmp_path_factory):
    run = timeseries_run(tmp_path_factory)
    series = timeline(run, top=3)
    names = [name for name, _ in series.marks]
    assert names == ["write", "burn"]
    last = series.frame["elapsed_seconds"].max()
    for _, x in series.marks:
        assert 0 < x < last


def test_plot_delta_run_draws_bars(tmp_path_factory, tmp_path):
    run = delta_run(tmp_path_factory)
    assert len(read_samples(run)) == 2
    proc = ctprof("plot", run, "-o", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    for path in proc.stdout.split():
        _assert_nonblank_png(path)
    series = timeline(run, top=3)
    assert series.delta_mode
    figure = next(f for f in run_figures(series.frame, series.procs) if f.key == "cpu")
    fig = draw_figure(figure, series, "test")
    assert all(len(ax.patches) > 0 for ax in fig.axes)
    assert all(len(ax.get_lines()) == 0 for ax in fig.axes)


def test_plot_killed_run(tmp_path):
    """A run whose profiler got SIGKILL (no summary.json, partial line) plots."""
    run_dir = tmp_path / "killed"
    profiler = subprocess.Popen(
        [sys.executable, "-m", "ctprof", "run", "-q", "-i", "0.1", "-o", str(run_dir)]
        + ["--", *phases_argv(3.0, 1)],
        cwd=str(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    samples_path = run_dir / "samples.jsonl.gz"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if samples_path.exists() and len(read_samples(run_dir)) >= 8:
            break
        time.sleep(0.1)
    os.kill(profiler.pid, signal.SIGKILL)
    profiler.wait(timeout=10)
    complete = len(read_samples(run_dir))
    # Cut into the last sample, as a kill in the middle of its write would.
    samples_path.write_bytes(samples_path.read_bytes()[:-12])
    assert len(read_samples(run_dir)) == complete - 1
    assert not (run_dir / "summary.json").exists()
    out = tmp_path / "plots"
    proc = ctprof("plot", str(run_dir), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    _assert_nonblank_png(str(out / "cpu.png"))


def test_plot_pipeline_draws_tasks(tmp_path_factory, tmp_path):
    pipe = pipeline_run(tmp_path_factory)
    proc = ctprof("plot", pipe, "-o", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    tasks = tmp_path / "tasks.png"
    assert tasks.exists()
    _assert_nonblank_png(str(tasks))
    _assert_nonblank_png(str(tmp_path / "cpu.png"))
    series = timeline(pipe, top=3)
    assert [name for name, _, _ in series.spans] == ["prepare", "align"]
    (_, start1, end1), (_, start2, _) = series.spans
    assert start1 == 0
    assert end1 <= start2


def test_plot_several_runs(tmp_path_factory, tmp_path):
    first = timeseries_run(tmp_path_factory)
    second = delta_run(tmp_path_factory)
    proc = ctprof("plot", first, second, "-o", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    names = {os.path.basename(p) for p in proc.stdout.split()}
    assert "series-cpu.png" in names
    assert "delta-cpu.png" in names
    assert "tasks.png" in names


def test_plot_rejects_bad_directories(tmp_path):
    missing = ctprof("plot", str(tmp_path / "nothing"))
    assert missing.returncode == 2
    assert len(missing.stderr.strip().splitlines()) == 1
    assert "not a run directory" in missing.stderr
    newer = tmp_path / "newer"
    newer.mkdir()
    (newer / "meta.json").write_text(json.dumps({"format_version": 99}))
    proc = ctprof("plot", str(newer))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "newer" in proc.stderr


def test_plot_rejects_run_without_samples(tmp_path_factory, tmp_path):
    run = timeseries_run(tmp_path_factory)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "meta.json").write_text(open(f"{run}/meta.json").read())
    proc = ctprof("plot", str(empty), "-o", str(tmp_path / "plots"))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "contains no samples" in proc.stderr
    delta = ctprof("delta", str(empty))
    assert delta.returncode == 2
    assert "contains no samples" in delta.stderr


def test_plot_tasks_with_equal_names(tmp_path_factory, tmp_path):
    run = timeseries_run(tmp_path_factory)
    for name in ("r2", "small"):
        shutil.copytree(run, tmp_path / name)
    tasks = load_tasks(str(tmp_path / "r2")) + load_tasks(str(tmp_path / "small"))
    assert [t.name for t in tasks] == ["series", "series"]
    table = task_table(tasks)
    assert list(table["task"]) == ["series (r2)", "series (small)"]

    fig = draw_tasks(table, "runs")
    cpu = next(a for a in fig.axes if a.get_title(loc="left") == "Container CPU time")
    assert len({bar.get_x() for bar in cpu.patches}) == 2
    labels = [label.get_text() for label in cpu.get_xticklabels()]
    assert labels == ["series (r2)", "series (small)"]

    # Equal labels, as a caller may pass, still get a bar each.
    same = table.assign(task=["series", "series"])
    modes = draw_tasks(same, "runs").axes[0]
    positions = {bar.get_x() for bar in modes.patches}
    assert len(positions) == 2

    out = tmp_path / "plots"
    proc = ctprof("plot", str(tmp_path / "r2"), str(tmp_path / "small"), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    _assert_nonblank_png(str(out / "tasks.png"))


def test_stage_bounds_drawn_above_areas(tmp_path_factory):
    pipe = pipeline_run(tmp_path_factory)
    series = timeline(pipe, top=3)
    figure = next(f for f in run_figures(series.frame, series.procs) if f.key == "cpu")
    fig = draw_figure(figure, series, "test")
    stacked = [ax for ax in fig.axes if ax.collections]
    assert stacked, "the CPU figure has no stacked area"
    for ax in stacked:
        top_area = max(c.get_zorder() for c in ax.collections)
        for name, start, end in series.spans:
            for x in (start, end):
                bounds = [
                    line
                    for line in ax.get_lines()
                    if set(line.get_xdata()) == {x} and line.get_zorder() > top_area
                ]
                assert bounds, f"no line above the areas at {x} ({name})"
            labels = [
                text
                for text in ax.texts
                if text.get_text() == name and text.get_zorder() > top_area
            ]
            assert labels, f"stage name {name} is under the areas"
