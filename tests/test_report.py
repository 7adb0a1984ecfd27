"""``ctprof report`` wording for missing values and host-wide cgroups."""

from __future__ import annotations

from ctprof.render.report import describe_exit, root_cgroup_note

from conftest import ctprof, needs_root

MOUNTS = [
    {"mountpoint": "/sys/fs/cgroup/cpu", "root": "/", "version": "v1"},
    {"mountpoint": "/sys/fs/cgroup/memory", "root": "/", "version": "v1"},
]


def test_root_cgroup_is_flagged():
    meta = {
        "cgroup_layout": {"mounts": MOUNTS},
        "target": {"cgroup_dirs": {"cpu": "/sys/fs/cgroup/cpu"}},
    }
    note = root_cgroup_note(meta)
    assert note is not None
    assert "every process on this host" in note


def test_child_cgroup_is_not_flagged():
    meta = {
        "cgroup_layout": {"mounts": MOUNTS},
        "target": {"cgroup_dirs": {"cpu": "/sys/fs/cgroup/cpu/job"}},
    }
    assert root_cgroup_note(meta) is None


def test_missing_exit_status_says_why():
    assert describe_exit({"status": "running"}, {}).startswith("n/a (the profiler")
    assert "still running" in describe_exit({"status": "complete"}, {"exit_code": None})
    assert describe_exit({}, {"exit_code": 3}) == "3"


def test_report_skips_levels_not_recorded(tmp_path):
    needs_root()
    run_dir = tmp_path / "run"
    ctprof("run", "-q", "-l", "p", "-o", str(run_dir), "--", "true", check=True)
    out = ctprof("report", str(run_dir), check=True).stdout
    assert "Top processes" in out
    assert "Container (the run's cgroup)" not in out
    assert "Host CPU time by mode" not in out
    assert "None" not in out
