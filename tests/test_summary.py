"""Totals in summary.json, on samples built in the documented sample format."""

from __future__ import annotations

import pytest

from ctprof import catalog
from ctprof.analysis.summary import counter_increase, summarize

C = catalog.CONTAINER


def _sample(seq: int, container: dict, processes=None) -> dict:
    kind = "start" if seq == 0 else "sample"
    out = {"seq": seq, "kind": kind, "t": 100.0 + seq, "mono": 10.0 + seq}
    out[C] = container
    if processes is not None:
        out["processes"] = processes
    return out


def test_counter_reset_is_not_subtracted():
    total, resets = counter_increase([10, 15, 3, 8])
    assert total == 15 - 10 + 3 + 5
    assert resets == 1


def test_counter_from_zero_counts_first_reading():
    assert counter_increase([4, 6], from_zero=True) == (6, 0)
    assert counter_increase([None, None]) == (None, 0)


def test_device_appearing_later_counts_from_zero():
    name = "io_device_write_bytes_total"
    catalog.get(C, name)
    samples = [
        _sample(0, {}),
        _sample(1, {"io": {"8:0": {name: 4096}}}),
        _sample(2, {"io": {"8:0": {name: 8192}}}),
    ]
    summary = summarize({}, samples)
    column = catalog.column_name(C, name, "8:0")
    assert summary["metrics"][column]["delta"] == 8192


def test_device_present_from_start_counts_from_first_reading():
    name = "io_device_write_bytes_total"
    samples = [
        _sample(0, {"io": {"8:0": {name: 1000}}}),
        _sample(1, {"io": {"8:0": {name: 1500}}}),
    ]
    summary = summarize({}, samples)
    assert summary["metrics"][catalog.column_name(C, name, "8:0")]["delta"] == 500


def test_user_and_system_scaled_to_exact_total():
    names = (
        "cpu_usage_seconds_total",
        "cpu_user_seconds_total",
        "cpu_system_seconds_total",
    )
    start = dict.fromkeys(names, 0.0)
    end = dict(zip(names, (3.0, 2.4, 1.2)))
    summary = summarize({}, [_sample(0, start), _sample(1, end)])
    container = summary["container"]
    assert container["cpu_seconds"] == pytest.approx(3.0)
    assert container["cpu_user_seconds"] == pytest.approx(2.0)
    assert container["cpu_system_seconds"] == pytest.approx(1.0)


def test_window_after_start_counts_from_first_sample():
    name = "cpu_usage_seconds_total"
    samples = [
        _sample(0, {name: 0.0}),
        _sample(1, {name: 2.0}),
        _sample(2, {name: 3.0}),
    ]
    meta = {"target": {"counters_start_at_zero": True}}
    assert summarize(meta, samples)["container"]["cpu_seconds"] == 3.0
    assert summarize(meta, samples[1:])["container"]["cpu_seconds"] == 1.0


def test_attach_peak_is_the_window_peak():
    usage, peak = "memory_usage_bytes", "memory_peak_bytes"
    samples = [
        _sample(0, {usage: 300, peak: 40_000}),
        _sample(1, {usage: 500, peak: 40_000}),
    ]
    attached = summarize({"target": {}}, samples)["container"]
    assert attached["memory_peak_bytes"] == 500
    assert attached["memory_peak_since_creation_bytes"] == 40_000
    fresh = summarize({"target": {"counters_start_at_zero": True}}, samples)
    assert fresh["container"]["memory_peak_bytes"] == 40_000


def _row(pid: int, state: str, rss: int | None, hwm: int | None) -> list:
    row = dict.fromkeys(catalog.PROCESS_COLUMNS)
    row.update(pid=pid, start_time_seconds=1.0, name="sh", state=state)
    row.update(resident_memory_bytes=rss, resident_memory_peak_bytes=hwm)
    row.update(cpu_user_seconds_total=0.5, cpu_system_seconds_total=0.1)
    return [row[c] for c in catalog.PROCESS_COLUMNS]


def test_zombie_memory_is_not_a_zero_reading():
    meta = {"target": {"main_pid": 7}, "command": ["sh", "-c", "echo hi"]}
    samples = [
        _sample(0, {}, []),
        _sample(1, {}, [_row(7, "Z", 0, None)]),
    ]
    (entry,) = summarize(meta, samples)["processes"]
    assert entry["memory_peak_bytes"] is None
    assert entry["cmdline"] == "sh -c 'echo hi'"
    assert entry["cpu_seconds"] == pytest.approx(0.6)
