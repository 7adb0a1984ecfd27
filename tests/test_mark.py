"""``ctprof mark`` and marks.jsonl."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from ctprof.marks import MARKS, find_mark, read_marks, write_mark

from conftest import WORKLOADS, ctprof, needs_root, read_json, read_samples


def _env_without_run_dir() -> dict:
    env = dict(os.environ)
    env.pop("CTPROF_RUN_DIR", None)
    return env


def test_mark_without_profiler_exits_zero(tmp_path):
    proc = ctprof("mark", "phase", env=_env_without_run_dir(), cwd=tmp_path)
    assert proc.returncode == 0
    assert "no profiler is running" in proc.stderr
    assert not (tmp_path / MARKS).exists()


def test_mark_appends_line_with_both_clocks(tmp_path):
    env = {**_env_without_run_dir(), "CTPROF_RUN_DIR": str(tmp_path)}
    before_wall, before_mono = time.time(), time.monotonic()
    first = ctprof("mark", "one", env=env)
    second = ctprof("mark", "two words", env=env)
    after_wall, after_mono = time.time(), time.monotonic()
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr

    lines = (tmp_path / MARKS).read_text().splitlines()
    assert len(lines) == 2
    items = [json.loads(line) for line in lines]
    assert [i["name"] for i in items] == ["one", "two words"]
    for item in items:
        assert set(item) == {"name", "t", "mono"}
        assert before_wall <= item["t"] <= after_wall
        # CLOCK_MONOTONIC is shared by all processes, so the child's reading
        # falls between the test's own readings.
        assert before_mono <= item["mono"] <= after_mono
    assert items[0]["mono"] <= items[1]["mono"]


def test_mark_rejects_empty_name(tmp_path):
    env = {**_env_without_run_dir(), "CTPROF_RUN_DIR": str(tmp_path)}
    proc = ctprof("mark", "  ", env=env)
    assert proc.returncode == 2
    assert "invalid mark name" in proc.stderr
    assert not (tmp_path / MARKS).exists()


def test_mark_into_missing_directory_exits_zero(tmp_path):
    env = {**_env_without_run_dir(), "CTPROF_RUN_DIR": str(tmp_path / "gone")}
    proc = ctprof("mark", "late", env=env)
    assert proc.returncode == 0
    assert "cannot write mark 'late'" in proc.stderr


def test_read_marks_skips_damaged_lines(tmp_path):
    write_mark(str(tmp_path), "b")
    with open(tmp_path / MARKS, "a") as f:
        f.write('{"name": "no clocks"}\n')
        f.write("not json\n")
        f.write(json.dumps({"name": "a", "t": 1.0, "mono": 0.5}) + "\n")
        f.write('{"name": "partial", "t": 2')
    marks = read_marks(str(tmp_path))
    assert [m.name for m in marks] == ["a", "b"]
    assert find_mark(marks, "b") is marks[1]
    assert find_mark(marks, "zzz") is None


def test_read_marks_without_file(tmp_path):
    assert read_marks(str(tmp_path)) == []


def test_concurrent_marks_stay_whole_lines(tmp_path):
    script = (
        "import sys\n"
        "from ctprof.marks import write_mark\n"
        "for i in range(200):\n"
        "    write_mark(sys.argv[1], sys.argv[2] + '-' + str(i) + 'x' * 300)\n"
    )
    writers = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path), f"w{n}"])
        for n in range(4)
    ]
    for writer in writers:
        assert writer.wait(timeout=60) == 0
    lines = (tmp_path / MARKS).read_text().splitlines()
    assert len(lines) == 800
    for line in lines:
        json.loads(line)
    assert len(read_marks(str(tmp_path))) == 800


def test_run_records_mark_from_command(tmp_path):
    needs_root()
    out = tmp_path / "run"
    script = os.path.join(WORKLOADS, "phases.py")
    proc = ctprof(
        "run", "-i", "0.05", "-o", str(out), "--", sys.executable, script, "1", "4"
    )
    assert proc.returncode == 0, proc.stderr
    marks = read_marks(str(out))
    assert [m.name for m in marks] == ["write", "burn"]
    meta = read_json(out / "meta.json")
    assert meta["status"] == "complete"
    samples = read_samples(out)
    for mark in marks:
        assert samples[0]["mono"] < mark.mono < samples[-1]["mono"]
