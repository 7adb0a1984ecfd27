"""``ctprof export`` round trips: the CSV and Parquet tables equal ctprof.load()."""

from __future__ import annotations

import pandas as pd
import pytest

import ctprof as ctprof_api
from ctprof import catalog
from ctprof.render.export import order_columns
from see_runs import HOSTILE_ARG, pipeline_run, timeseries_run

from conftest import ctprof

pytestmark = pytest.mark.slow


def _export(run: str, fmt: str, out) -> None:
    proc = ctprof("export", run, "--format", fmt, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [
        str(out / f"samples.{fmt}"),
        str(out / f"processes.{fmt}"),
    ]


def test_export_csv_round_trip(tmp_path_factory, tmp_path):
    run = timeseries_run(tmp_path_factory)
    _export(run, "csv", tmp_path)
    loaded = ctprof_api.load(run)
    samples = pd.read_csv(tmp_path / "samples.csv")
    expected = order_columns(loaded.samples)
    assert list(samples.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(samples, expected, check_dtype=False)
    procs = pd.read_csv(tmp_path / "processes.csv")
    procs["cmdline"] = procs["cmdline"].fillna("")
    pd.testing.assert_frame_equal(procs, loaded.processes, check_dtype=False)


def test_export_parquet_round_trip(tmp_path_factory, tmp_path):
    run = timeseries_run(tmp_path_factory)
    _export(run, "parquet", tmp_path)
    loaded = ctprof_api.load(run)
    samples = pd.read_parquet(tmp_path / "samples.parquet")
    pd.testing.assert_frame_equal(samples, order_columns(loaded.samples))
    procs = pd.read_parquet(tmp_path / "processes.parquet")
    pd.testing.assert_frame_equal(procs, loaded.processes)


def test_export_column_names(tmp_path_factory, tmp_path):
    run = timeseries_run(tmp_path_factory)
    _export(run, "csv", tmp_path)
    samples = pd.read_csv(tmp_path / "samples.csv")
    assert list(samples.columns[:4]) == ["time", "elapsed_seconds", "seq", "kind"]
    metric_columns = [c for c in samples.columns[4:] if not c.startswith("cost.")]
    assert metric_columns
    for column in metric_columns:
        assert catalog.metric_for_column(column) is not None, column
    assert "container.cpu_usage_seconds_total" in samples.columns
    assert "host.network_receive_bytes_total[lo]" in samples.columns
    procs = pd.read_csv(tmp_path / "processes.csv")
    assert HOSTILE_ARG in " ".join(procs["cmdline"].fillna(""))
    assert len(procs) == sum(
        len(s.get("processes") or ()) for s in ctprof_api.load(run).raw_samples
    )


def test_export_pipeline_has_stage_column(tmp_path_factory, tmp_path):
    pipe = pipeline_run(tmp_path_factory)
    _export(pipe, "parquet", tmp_path)
    samples = pd.read_parquet(tmp_path / "samples.parquet")
    assert list(samples.columns[:5]) == [
        "time",
        "elapsed_seconds",
        "seq",
        "kind",
        "stage",
    ]
    counts = samples["stage"].value_counts().to_dict()
    for name in ("prepare", "align"):
        stage = ctprof_api.load(f"{pipe}/{name}")
        assert counts[name] == len(stage.raw_samples)
    procs = pd.read_parquet(tmp_path / "processes.parquet")
    assert set(procs["stage"]) == {"prepare", "align"}


def test_export_rejects_bad_input(tmp_path_factory, tmp_path):
    run = timeseries_run(tmp_path_factory)
    proc = ctprof("export", run, "--format", "xlsx", "-o", str(tmp_path))
    assert proc.returncode == 2
    assert "xlsx" in proc.stderr
    proc = ctprof("export", str(tmp_path), "--format", "csv")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "not a run directory" in proc.stderr
