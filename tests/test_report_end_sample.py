"""ctprof report names the container counters an end sample lacks."""

from __future__ import annotations

from ctprof.render.report import print_report


def test_report_lists_incomplete_end_sample(capsys):
    meta = {
        "end_sample_incomplete": {
            "missing": ["cpu_throttled_seconds_total", "memory_oom_kills_total"],
            "reason": "the cgroup was removed",
        }
    }
    summary = {"samples": 2, "exit_code": 0, "container": {}, "host": {}}

    print_report(meta, summary, recomputed=False)

    lines = [
        line for line in capsys.readouterr().out.splitlines() if "end sample" in line
    ]
    assert len(lines) == 1
    assert "cpu_throttled_seconds_total, memory_oom_kills_total" in lines[0]
    assert "the cgroup was removed" in lines[0]


def test_report_silent_on_complete_end_sample(capsys):
    summary = {"samples": 2, "exit_code": 0, "container": {}, "host": {}}

    print_report({}, summary, recomputed=False)

    assert "end sample" not in capsys.readouterr().out
