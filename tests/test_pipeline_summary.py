"""Pipeline totals computed from stage entries built by the test."""

from __future__ import annotations

import pytest

from ctprof import catalog
from ctprof.pipeline.summary import pipeline_summary, total_entry


def _mode_column(mode: str) -> str:
    return catalog.column_name(catalog.HOST, catalog.host_cpu_mode_metric(mode))


def _entry(name, exit_code, cpu, peak, io_read, mode_seconds, start, end):
    return {
        "name": name,
        "exit_code": exit_code,
        "directory": f"0-{name}",
        "elapsed_seconds": end - start,
        "start_mono": start,
        "end_mono": end,
        "container": {
            "cpu_seconds": cpu,
            "memory_peak_bytes": peak,
            "io_read_bytes": io_read,
        },
        "metrics": {
            _mode_column(mode): {"delta": seconds}
            for mode, seconds in mode_seconds.items()
        },
        "processes": [{"pid": 1, "cpu_seconds": cpu}],
    }


ZERO_MODES = {mode: 0.0 for mode in catalog.CPU_MODES_PARTITION}


def test_total_sums_counters_and_takes_max_peak():
    first = _entry("a", 0, 1.5, 100, 10, {**ZERO_MODES, "user": 3.0}, 10.0, 12.0)
    second = _entry("b", 0, 0.5, 300, 5, {**ZERO_MODES, "idle": 1.0}, 12.5, 13.0)
    total = total_entry([first, second], 0)
    assert total["container"]["cpu_seconds"] == pytest.approx(2.0)
    assert total["container"]["memory_peak_bytes"] == 300
    assert total["container"]["io_read_bytes"] == 15
    assert total["elapsed_seconds"] == pytest.approx(3.0)
    assert total["stage_seconds"] == pytest.approx(2.5)
    # Mode seconds add up before the percentages: 3 s user, 1 s idle.
    assert total["host"]["cpu_mode_percent"]["user"] == pytest.approx(75.0)
    assert total["host"]["cpu_mode_percent"]["idle"] == pytest.approx(25.0)
    assert [p["stage"] for p in total["processes"]] == ["a", "b"]


def test_total_is_null_when_a_stage_lacks_metric():
    first = _entry("a", 0, 1.0, 100, None, {**ZERO_MODES, "user": 1.0}, 0.0, 1.0)
    second = _entry("b", 0, 1.0, None, 5, {}, 1.0, 2.0)
    total = total_entry([first, second], 0)
    assert total["container"]["io_read_bytes"] is None
    assert total["container"]["memory_peak_bytes"] is None
    assert total["container"]["cpu_seconds"] == pytest.approx(2.0)
    assert all(v is None for v in total["host"]["cpu_mode_percent"].values())


def test_total_leaves_out_stage_that_never_started():
    ran = _entry("a", 0, 1.0, 100, 10, ZERO_MODES, 0.0, 1.0)
    never = {"name": "b", "exit_code": 127, "directory": None, "container": {}}
    total = total_entry([ran, never], 127)
    assert total["container"]["io_read_bytes"] == 10
    assert total["stages_run"] == 2
    assert total["exit_code"] == 127


def test_summary_lists_failed_and_skipped_stages():
    planned = [{"name": n, "runs": n != "a"} for n in ("a", "b", "c", "d")]
    b = _entry("b", 2, 1.0, 1, 1, ZERO_MODES, 0.0, 1.0)
    c = _entry("c", 9, 1.0, 1, 1, ZERO_MODES, 1.0, 2.0)
    summary = pipeline_summary("p", planned, [b, c], c)
    assert summary["kind"] == "pipeline"
    assert summary["exit_code"] == 9
    assert summary["failed_stage"] == "c"
    assert summary["tolerated_failures"] == ["b"]
    assert summary["skipped_stages"] == ["a"]
    assert summary["not_run_stages"] == ["d"]
    assert summary["total"]["exit_code"] == 9


def test_summary_of_successful_pipeline():
    planned = [{"name": "a", "runs": True}]
    a = _entry("a", 0, 1.0, 1, 1, ZERO_MODES, 0.0, 1.0)
    summary = pipeline_summary("p", planned, [a], None)
    assert summary["exit_code"] == 0
    assert "failed_stage" not in summary
    assert "tolerated_failures" not in summary
    assert summary["not_run_stages"] == []


def test_total_keeps_shared_io_source():
    first = _entry("a", 0, 1.0, 1, 1, ZERO_MODES, 0.0, 1.0)
    second = _entry("b", 0, 1.0, 1, 1, ZERO_MODES, 1.0, 2.0)
    first["container"]["io_source"] = "main process /proc/PID/io"
    second["container"]["io_source"] = "main process /proc/PID/io"
    assert total_entry([first, second], 0)["container"]["io_source"] == (
        "main process /proc/PID/io"
    )
    second["container"]["io_source"] = "cgroup"
    assert "io_source" not in total_entry([first, second], 0)["container"]
