"""Bad input gets one line naming the value, and exit status 2 (127 for a
missing program, as a shell does)."""

from __future__ import annotations

import os

import pytest

from conftest import ctprof, read_json, read_samples


@pytest.mark.parametrize(
    "args, needle",
    [
        (["run", "-l", "x", "--", "true"], "'x'"),
        (["run", "-l", "host,disk", "--", "true"], "'disk'"),
        (["run", "-l", "vcx", "--", "true"], "invalid level 'x'"),
        (["run", "-i", "0.001", "--", "true"], "0.001"),
        (["run", "-i", "fast", "--", "true"], "'fast'"),
        (["run", "-i", "-1", "--", "true"], "'-1'"),
        (["run"], "missing command"),
        (["run", "--"], "missing command"),
    ],
)
def test_run_rejects_bad_input_in_one_line(args, needle, tmp_path):
    proc = ctprof(*args, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith("ctprof: error: ")
    assert needle in lines[0]
    assert len(lines) == 1
    assert not (tmp_path / "ctprof-runs").exists()


def test_command_not_found_exits_127(tmp_path):
    proc = ctprof("run", "-o", str(tmp_path / "r"), "--", "no-such-program-xyz")
    assert proc.returncode == 127
    assert "no-such-program-xyz" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_unwritable_output_exits_2(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = ctprof("run", "-o", str(blocker / "sub"), "--", "true")
    assert proc.returncode == 2
    assert str(blocker / "sub") in proc.stderr


def test_non_empty_output_needs_force(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    proc = ctprof("run", "-o", str(out), "--", "true")
    assert proc.returncode == 2
    assert "--force" in proc.stderr
    proc = ctprof("run", "-q", "--force", "-o", str(out), "--", "true")
    assert proc.returncode == 0, proc.stderr
    assert (out / "keep.txt").exists()


def test_report_rejects_non_run_directory(tmp_path):
    proc = ctprof("report", str(tmp_path))
    assert proc.returncode == 2
    assert "not a run directory" in proc.stderr
    proc = ctprof("report", str(tmp_path / "missing"))
    assert proc.returncode == 2


def test_report_rejects_newer_format(tmp_path):
    (tmp_path / "meta.json").write_text('{"format_version": 999}')
    proc = ctprof("report", str(tmp_path))
    assert proc.returncode == 2
    assert "upgrade ctprof" in proc.stderr


def test_default_output_directory_is_under_ctprof_runs(tmp_path):
    proc = ctprof("run", "-q", "--", "true", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    runs = os.listdir(tmp_path / "ctprof-runs")
    assert len(runs) == 1
    assert runs[0].endswith("-true")


def test_force_replaces_the_earlier_run(tmp_path):
    out = tmp_path / "out"
    ctprof("run", "-q", "-i", "0.05", "-o", str(out), "--", "sleep", "0.5", check=True)
    (out / "marks.jsonl").write_text('{"name": "old", "t": 1, "mono": 1}\n')
    (out / "notes.txt").write_text("mine")
    ctprof("run", "-q", "--force", "-o", str(out), "--", "true", check=True)
    samples = read_samples(out)
    assert [s["kind"] for s in samples] == ["start", "end"]
    assert not (out / "marks.jsonl").exists()
    assert (out / "notes.txt").read_text() == "mine"
    assert read_json(out / "summary.json")["elapsed_seconds"] < 0.5


def test_default_directories_of_same_second_differ(tmp_path):
    for _ in range(3):
        proc = ctprof("run", "-q", "--", "true", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    assert len(os.listdir(tmp_path / "ctprof-runs")) == 3


@pytest.mark.parametrize("point", ["nan", "inf", "-1"])
def test_delta_rejects_non_finite_points(point, tmp_path):
    out = tmp_path / "run"
    ctprof("run", "-q", "-o", str(out), "--", "true", check=True)
    proc = ctprof("delta", str(out), "--from", point)
    assert proc.returncode == 2
    assert repr(point) in proc.stderr
