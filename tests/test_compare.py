"""``ctprof compare`` on real runs: changes, threshold exit status, bad input."""

from __future__ import annotations

import pytest

from see_runs import delta_run, make_run, pipeline_run, timeseries_run

from conftest import ctprof, read_json

pytestmark = pytest.mark.slow


def test_compare_run_with_itself(tmp_path_factory):
    run = timeseries_run(tmp_path_factory)
    proc = ctprof("compare", run, run)
    assert proc.returncode == 0, proc.stderr
    assert "container.cpu_seconds" in proc.stdout
    assert "0 of 12 values changed by more than 10 %" in proc.stdout


def test_compare_flags_cpu_change(tmp_path_factory):
    """The 2 s workload against the 1 s one: CPU time about halves."""
    longer = timeseries_run(tmp_path_factory)
    shorter = delta_run(tmp_path_factory)
    a = read_json(f"{longer}/summary.json")["container"]["cpu_seconds"]
    b = read_json(f"{shorter}/summary.json")["container"]["cpu_seconds"]
    percent = 100.0 * (b - a) / a
    assert percent < -20
    proc = ctprof("compare", longer, shorter, "--metric", "container.cpu_seconds")
    assert proc.returncode == 1, proc.stderr
    assert f"{percent:+.1f} %" in proc.stdout
    assert "1 of 1 values changed by more than 10 %" in proc.stdout


def test_compare_threshold_option(tmp_path_factory):
    longer = timeseries_run(tmp_path_factory)
    shorter = delta_run(tmp_path_factory)
    args = ("--metric", "container.cpu_seconds", "--threshold", "99")
    proc = ctprof("compare", longer, shorter, *args)
    assert proc.returncode == 0, proc.stderr
    assert "0 of 1 values changed by more than 99 %" in proc.stdout


def test_compare_catalog_column(tmp_path_factory):
    run = timeseries_run(tmp_path_factory)
    column = "container.memory_usage_bytes"
    proc = ctprof("compare", run, run, "--metric", column)
    assert proc.returncode == 0, proc.stderr
    assert column in proc.stdout


def test_compare_pipeline_with_run(tmp_path_factory):
    """A pipeline's totals add up its stages, so it uses more CPU than one."""
    pipe = pipeline_run(tmp_path_factory)
    stage = f"{pipe}/align"
    proc = ctprof("compare", stage, pipe, "--metric", "container.cpu_seconds")
    assert proc.returncode == 1, proc.stderr
    assert "1 of 1 values changed" in proc.stdout


def test_compare_metric_missing_from_one_run(tmp_path_factory):
    run = timeseries_run(tmp_path_factory)
    host_only = make_run(tmp_path_factory, "hostonly", "-l", "host", seconds=0.5)
    proc = ctprof("compare", run, host_only)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "is missing from run B" in proc.stderr


def test_compare_rejects_unknown_metric(tmp_path_factory):
    run = timeseries_run(tmp_path_factory)
    proc = ctprof("compare", run, run, "--metric", "container.no_such_thing")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "unknown metric 'container.no_such_thing'" in proc.stderr


def test_compare_rejects_missing_run(tmp_path_factory, tmp_path):
    run = timeseries_run(tmp_path_factory)
    proc = ctprof("compare", run, str(tmp_path / "none"))
    assert proc.returncode == 2
    assert "not a run directory" in proc.stderr
