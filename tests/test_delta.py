"""``ctprof delta`` on real runs: whole run, mark and seconds windows, pipelines."""

from __future__ import annotations

import json

import pytest

from see_runs import pipeline_run, timeseries_run

from conftest import ctprof, read_json, read_samples

pytestmark = pytest.mark.slow


def _delta_json(*args: str) -> dict:
    proc = ctprof("delta", *args, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _marks(run: str) -> dict[str, float]:
    with open(f"{run}/marks.jsonl") as f:
        return {m["name"]: m["mono"] for m in map(json.loads, f)}


def _cpu_increase(samples: list[dict]) -> float:
    name = "cpu_usage_seconds_total"
    return samples[-1]["container"][name] - samples[0]["container"][name]


def test_delta_whole_run_equals_summary(tmp_path_factory):
    run = timeseries_run(tmp_path_factory)
    result = _delta_json(run)
    summary = read_json(f"{run}/summary.json")
    assert result["container"] == summary["container"]
    assert result["metrics"] == summary["metrics"]
    assert result["host"] == summary["host"]
    assert result["window"]["samples"] == summary["samples"]


def test_delta_between_marks(tmp_path_factory):
    run = timeseries_run(tmp_path_factory)
    samples = read_samples(run)
    marks = _marks(run)
    inside = [s for s in samples if marks["write"] <= s["mono"] <= marks["burn"]]
    assert len(inside) >= 2
    result = _delta_json(run, "--from", "write", "--to", "burn")
    t0 = samples[0]["mono"]
    assert result["window"]["samples"] == len(inside)
    assert result["window"]["first_sample_seconds"] == pytest.approx(
        inside[0]["mono"] - t0, abs=1e-6
    )
    expected = _cpu_increase(inside)
    assert result["container"]["cpu_seconds"] == pytest.approx(expected, rel=1e-9)


def test_delta_seconds_window(tmp_path_factory):
    run = timeseries_run(tmp_path_factory)
    samples = read_samples(run)
    t0 = samples[0]["mono"]
    inside = [s for s in samples if 0.3 - 1e-6 <= s["mono"] - t0 <= 1.2 + 1e-6]
    result = _delta_json(run, "--from", "0.3", "--to", "1.2")
    assert result["window"]["samples"] == len(inside)
    assert result["window"]["first_sample_seconds"] >= 0.3 - 1e-6
    assert result["window"]["last_sample_seconds"] <= 1.2 + 1e-6
    expected = _cpu_increase(inside)
    assert result["container"]["cpu_seconds"] == pytest.approx(expected, rel=1e-9)
    # Gauges: min, mean and max of the readings inside the window.
    usage = [s["container"]["memory_usage_bytes"] for s in inside]
    gauge = result["metrics"]["container.memory_usage_bytes"]
    assert gauge["min"] == min(usage)
    assert gauge["max"] == max(usage)
    assert gauge["mean"] == pytest.approx(sum(usage) / len(usage))


def test_delta_table_output(tmp_path_factory):
    run = timeseries_run(tmp_path_factory)
    proc = ctprof("delta", run, "--from", "write")
    assert proc.returncode == 0, proc.stderr
    assert "Window from write to end" in proc.stdout
    assert "container.network_receive_bytes_total[lo]" in proc.stdout


def test_delta_pipeline_stage(tmp_path_factory):
    pipe = pipeline_run(tmp_path_factory)
    result = _delta_json(pipe, "--from", "align", "--to", "align")
    assert [s["name"] for s in result["stages"]] == ["align"]
    stage = read_json(f"{pipe}/align/summary.json")
    cpu = result["stages"][0]["container"]["cpu_seconds"]
    assert cpu == pytest.approx(stage["container"]["cpu_seconds"], rel=1e-9)
    assert result["container"]["cpu_seconds"] == pytest.approx(cpu, rel=1e-9)


def test_delta_pipeline_total_adds_stages(tmp_path_factory):
    pipe = pipeline_run(tmp_path_factory)
    result = _delta_json(pipe)
    assert [s["name"] for s in result["stages"]] == ["prepare", "align"]
    stage_cpu = [s["container"]["cpu_seconds"] for s in result["stages"]]
    assert result["container"]["cpu_seconds"] == pytest.approx(sum(stage_cpu))
    peaks = [s["container"]["memory_peak_bytes"] for s in result["stages"]]
    assert result["container"]["memory_peak_bytes"] == max(peaks)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", "no-such-mark"), "unknown point 'no-such-mark'"),
        (("--from", "burn", "--to", "write"), "is not before --to"),
        (("--from", "-3"), "must be 0 or more"),
        (("--from", "0.5", "--to", "0.51"), "a delta needs at least two"),
    ],
)
def test_delta_rejects_bad_points(tmp_path_factory, args, message):
    run = timeseries_run(tmp_path_factory)
    proc = ctprof("delta", run, *args)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert message in proc.stderr


def test_delta_rejects_bad_directories(tmp_path):
    proc = ctprof("delta", str(tmp_path))
    assert proc.returncode == 2
    assert "not a run directory" in proc.stderr
    (tmp_path / "meta.json").write_text(json.dumps({"format_version": 99}))
    proc = ctprof("delta", str(tmp_path))
    assert proc.returncode == 2
    assert "newer than this ctprof reads" in proc.stderr
