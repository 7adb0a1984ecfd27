"""plot, html, delta, export and compare on a pipeline made by ``ctprof pipeline``."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from ctprof.analysis.tasks import load_tasks, timeline
from see_runs import real_pipeline_run

from conftest import ctprof, read_json

pytestmark = pytest.mark.slow


def test_pipeline_tasks_in_run_order(tmp_path_factory):
    pipe = real_pipeline_run(tmp_path_factory)
    tasks = load_tasks(pipe)
    assert [t.name for t in tasks] == ["burn", "write"]
    series = timeline(pipe, top=3)
    assert [name for name, _, _ in series.spans] == ["burn", "write"]
    # Each stage's workload marks "write" then "burn".
    assert [name for name, _ in series.marks] == ["write", "burn", "write", "burn"]


def test_pipeline_plot_and_html(tmp_path_factory, tmp_path):
    pipe = real_pipeline_run(tmp_path_factory)
    proc = ctprof("plot", pipe, "-o", str(tmp_path / "plots"))
    assert proc.returncode == 0, proc.stderr
    names = {os.path.basename(p) for p in proc.stdout.split()}
    assert {"cpu.png", "memory.png", "tasks.png"} <= names
    proc = ctprof("html", pipe, "-o", str(tmp_path / "report.html"))
    assert proc.returncode == 0, proc.stderr
    page = (tmp_path / "report.html").read_text()
    assert "<h3>burn</h3>" in page
    assert "<h3>write</h3>" in page
    start = page.index('id="ctprof-data">') + len('id="ctprof-data">')
    data = json.loads(page[start : page.index("</script>", start)])
    tasks = data["tasks"]
    assert tasks["names"] == ["burn", "write"]
    cpu = tasks["bars"][0]
    assert cpu["title"] == "Container CPU time"
    stages = read_json(f"{pipe}/summary.json")["stages"]
    for value, stage in zip(cpu["values"], stages):
        expected = stage["container"]["cpu_seconds"]
        assert value == pytest.approx(expected, rel=1e-4)


def test_pipeline_delta_names(tmp_path_factory):
    pipe = real_pipeline_run(tmp_path_factory)
    ambiguous = ctprof("delta", pipe, "--from", "burn")
    assert ambiguous.returncode == 2
    assert "give mark:burn or stage:burn" in ambiguous.stderr
    proc = ctprof(
        "delta", pipe, "--from", "stage:write", "--to", "stage:write", "--json"
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert [s["name"] for s in result["stages"]] == ["write"]
    stage = read_json(f"{pipe}/02-write/summary.json")
    cpu = result["container"]["cpu_seconds"]
    assert cpu == pytest.approx(stage["container"]["cpu_seconds"], rel=1e-9)


def test_pipeline_delta_total_matches_summary(tmp_path_factory):
    pipe = real_pipeline_run(tmp_path_factory)
    proc = ctprof("delta", pipe, "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    stages = read_json(f"{pipe}/summary.json")["stages"]
    expected = sum(s["container"]["cpu_seconds"] for s in stages)
    assert result["container"]["cpu_seconds"] == pytest.approx(expected, rel=1e-9)


def test_pipeline_export_stage_column(tmp_path_factory, tmp_path):
    pipe = real_pipeline_run(tmp_path_factory)
    proc = ctprof("export", pipe, "--format", "csv", "-o", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    samples = pd.read_csv(tmp_path / "samples.csv")
    assert list(samples["stage"].unique()) == ["burn", "write"]
    assert list(samples.columns[:5]) == [
        "time",
        "elapsed_seconds",
        "seq",
        "kind",
        "stage",
    ]
