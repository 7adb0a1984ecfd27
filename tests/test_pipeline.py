"""``ctprof pipeline`` end to end: real stages, cgroups and getrusage ground truth."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
import yaml

from ctprof import catalog, store
from ctprof.marks import read_marks

from conftest import (
    WORKLOADS,
    ctprof,
    kill_orphans,
    needs_root,
    read_json,
    read_samples,
)

pytestmark = pytest.mark.slow

BURN = os.path.join(WORKLOADS, "stage_burn.py")


def _burn_stage(name: str, truth: str, *args: str, **extra) -> dict:
    return {"name": name, "run": [sys.executable, BURN, truth, *args], **extra}


def _write_pipeline(tmp_path, stages: list[dict], **top) -> str:
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump({"name": "test", **top, "stages": stages}))
    return str(path)


def _stage(summary: dict, name: str) -> dict:
    for entry in summary["stages"]:
        if entry["name"] == name:
            return entry
    raise AssertionError(f"stage {name} not in summary: {summary['stages']}")


def test_stage_cpu_matches_getrusage(tmp_path):
    needs_root()
    truths = {name: str(tmp_path / f"{name}.json") for name in ("one", "two", "three")}
    stages = [
        _burn_stage("one", truths["one"], "4", "200"),
        _burn_stage("two", truths["two"], "2", "400", "--parallel"),
        _burn_stage("three", truths["three"], "1", "600"),
    ]
    pipeline = _write_pipeline(tmp_path, stages, interval=0.1)
    out = tmp_path / "run"
    proc = ctprof("pipeline", pipeline, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    summary = read_json(out / "summary.json")
    meta = read_json(out / "meta.json")

    assert meta["kind"] == "pipeline"
    assert meta["format_version"] == store.FORMAT_VERSION
    assert meta["status"] == "complete"
    assert summary["exit_code"] == 0
    assert "failed_stage" not in summary
    assert [e["name"] for e in summary["stages"]] == ["one", "two", "three"]
    assert [e["directory"] for e in summary["stages"]] == [
        "01-one",
        "02-two",
        "03-three",
    ]

    total_truth = 0.0
    for name, truth_path in truths.items():
        truth = read_json(truth_path)
        entry = _stage(summary, name)
        measured = entry["container"]["cpu_seconds"]
        assert measured == pytest.approx(truth["cpu_seconds"], rel=0.03), name
        assert entry["exit_code"] == 0
        total_truth += truth["cpu_seconds"]
        modes = entry["host"]["cpu_mode_percent"]
        assert set(modes) == set(catalog.CPU_MODES_PARTITION)
        assert sum(modes.values()) == pytest.approx(100.0, abs=0.1)
    total = summary["total"]
    assert total["container"]["cpu_seconds"] == pytest.approx(total_truth, rel=0.03)
    assert total["stages_run"] == 3
    assert sum(total["host"]["cpu_mode_percent"].values()) == pytest.approx(
        100.0, abs=0.1
    )


def test_stage_boundaries_match_stage_times(tmp_path):
    needs_root()
    truths = {name: str(tmp_path / f"{name}.json") for name in ("a", "b")}
    stages = [
        _burn_stage("a", truths["a"], "2", "300"),
        _burn_stage("b", truths["b"], "1", "500"),
    ]
    pipeline = _write_pipeline(tmp_path, stages, interval=0.05)
    out = tmp_path / "run"
    proc = ctprof("pipeline", pipeline, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    summary = read_json(out / "summary.json")

    previous_end = None
    for name, truth_path in truths.items():
        truth = read_json(truth_path)
        entry = _stage(summary, name)
        samples = read_samples(out / entry["directory"])
        # The stage starts before its command and ends after it exits, and
        # neither bound is more than the cost of starting or reaping it away.
        assert entry["start_mono"] <= truth["start"]["mono"]
        assert truth["start"]["mono"] - entry["start_mono"] < 0.5
        assert entry["end_mono"] >= truth["end"]["mono"]
        assert entry["end_mono"] - truth["end"]["mono"] < 0.5
        assert entry["start_time_seconds"] <= truth["start"]["t"]
        assert entry["end_time_seconds"] >= truth["end"]["t"]
        assert samples[0]["mono"] == entry["start_mono"]
        assert samples[-1]["mono"] == entry["end_mono"]
        assert entry["elapsed_seconds"] == pytest.approx(
            entry["end_mono"] - entry["start_mono"], abs=1e-5
        )
        assert len(samples) >= 8, "time series of a stage at 0.05 s"
        if previous_end is not None:
            assert entry["start_mono"] >= previous_end
        previous_end = entry["end_mono"]


def _serve_bytes(directory, size: int):
    (directory / "payload.bin").write_bytes(os.urandom(size))
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(  # noqa: E731
        *a, directory=str(directory), **k
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


def test_stage_memory_disk_network(tmp_path):
    needs_root()
    served = tmp_path / "served"
    served.mkdir()
    size = 8 * 1024 * 1024
    server = _serve_bytes(served, size)
    url = f"http://127.0.0.1:{server.server_address[1]}/payload.bin"
    fetch = (
        "import sys, urllib.request; "
        "data = urllib.request.urlopen(sys.argv[1]).read(); "
        "assert len(data) == int(sys.argv[2])"
    )
    truth = str(tmp_path / "mem.json")
    stages = [
        {"name": "fetch", "run": [sys.executable, "-c", fetch, url, str(size)]},
        _burn_stage("memory", truth, "0", "0", "--alloc-mib", "64"),
        _burn_stage("disk", str(tmp_path / "disk.json"), "0", "0", "--write-mib", "16"),
    ]
    pipeline = _write_pipeline(tmp_path, stages, interval=0.1, workdir=str(tmp_path))
    out = tmp_path / "run"
    try:
        proc = ctprof("pipeline", pipeline, "-o", str(out))
    finally:
        server.shutdown()
    assert proc.returncode == 0, proc.stderr
    summary = read_json(out / "summary.json")

    # Network counters are those of the stage's network namespace (the host's
    # here), so they include at least the bytes the stage fetched over loopback.
    fetched = _stage(summary, "fetch")["container"]
    assert fetched["network_receive_bytes"] >= size
    assert fetched["network_transmit_bytes"] >= size

    memory = _stage(summary, "memory")["container"]
    assert memory["memory_peak_bytes"] >= 64 * 1024 * 1024
    # The child's max RSS also counts shared library pages that the cgroup
    # may not be charged for, so it bounds the peak from above, with slack
    # for the parent interpreter and page tables.
    max_rss = read_json(truth)["children_max_rss_bytes"]
    assert memory["memory_peak_bytes"] <= max_rss + 48 * 1024 * 1024

    disk = _stage(summary, "disk")["container"]
    assert disk["io_write_bytes"] >= 16 * 1024 * 1024

    total = summary["total"]["container"]
    assert total["memory_peak_bytes"] == max(
        e["container"]["memory_peak_bytes"] for e in summary["stages"]
    )
    assert total["io_write_bytes"] == sum(
        e["container"]["io_write_bytes"] for e in summary["stages"]
    )


def test_failing_middle_stage_stops_pipeline(tmp_path):
    needs_root()
    stages = [
        _burn_stage("first", str(tmp_path / "1.json"), "1", "100"),
        _burn_stage("middle", str(tmp_path / "2.json"), "1", "100", "--exit", "3"),
        _burn_stage("last", str(tmp_path / "3.json"), "1", "100"),
    ]
    pipeline = _write_pipeline(tmp_path, stages)
    out = tmp_path / "run"
    proc = ctprof("pipeline", pipeline, "-o", str(out))
    assert proc.returncode == 3, proc.stderr
    summary = read_json(out / "summary.json")
    meta = read_json(out / "meta.json")

    assert summary["exit_code"] == 3
    assert summary["failed_stage"] == "middle"
    assert meta["failed_stage"] == "middle"
    assert [e["name"] for e in summary["stages"]] == ["first", "middle"]
    assert [e["exit_code"] for e in summary["stages"]] == [0, 3]
    assert summary["not_run_stages"] == ["last"]
    assert not (tmp_path / "3.json").exists()
    assert not (out / "03-last").exists()
    first = read_json(out / "01-first" / "summary.json")
    assert first["exit_code"] == 0
    assert first["container"]["cpu_seconds"] > 0.05
    assert "middle failed with exit status 3" in proc.stderr


def test_continue_on_error_runs_later_stages(tmp_path):
    needs_root()
    stages = [
        {"name": "fails", "run": ["sh", "-c", "exit 4"], "continue_on_error": True},
        {"name": "after", "run": "echo done > after.txt", "shell": True},
    ]
    pipeline = _write_pipeline(tmp_path, stages, interval=0)
    out = tmp_path / "run"
    proc = ctprof("pipeline", pipeline, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    summary = read_json(out / "summary.json")

    assert [e["exit_code"] for e in summary["stages"]] == [4, 0]
    assert summary["tolerated_failures"] == ["fails"]
    assert "failed_stage" not in summary
    assert (tmp_path / "after.txt").read_text() == "done\n"


def test_missing_program_fails_its_stage(tmp_path):
    needs_root()
    stages = [
        {"name": "ok", "run": ["true"]},
        {"name": "missing", "run": ["ctprof-no-such-program"]},
    ]
    out = tmp_path / "run"
    proc = ctprof("pipeline", _write_pipeline(tmp_path, stages), "-o", str(out))
    assert proc.returncode == 127, proc.stderr
    summary = read_json(out / "summary.json")
    missing = _stage(summary, "missing")
    assert missing["directory"] is None
    assert "command not found" in missing["error"]
    assert summary["failed_stage"] == "missing"
    assert summary["total"]["stages_run"] == 2


def test_from_stage_resumes_in_new_directory(tmp_path):
    needs_root()
    stages = [
        {"name": "a", "run": "echo a >> log.txt", "shell": True},
        {"name": "b", "run": "echo b >> log.txt", "shell": True},
        {"name": "c", "run": "echo c >> log.txt", "shell": True},
    ]
    pipeline = _write_pipeline(tmp_path, stages, interval=0)
    out = tmp_path / "resumed"
    proc = ctprof("pipeline", pipeline, "--from-stage", "b", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    summary = read_json(out / "summary.json")
    meta = read_json(out / "meta.json")

    assert (tmp_path / "log.txt").read_text() == "b\nc\n"
    assert [e["name"] for e in summary["stages"]] == ["b", "c"]
    assert [e["directory"] for e in summary["stages"]] == ["02-b", "03-c"]
    assert summary["skipped_stages"] == ["a"]
    assert meta["from_stage"] == "b"
    assert not (out / "01-a").exists()

    again = ctprof("pipeline", pipeline, "--from-stage", "b", "-o", str(out))
    assert again.returncode == 2
    assert "not empty" in again.stderr

    unknown = ctprof("pipeline", pipeline, "--from-stage", "zz", "-o", str(out))
    assert unknown.returncode == 2
    assert "'zz' is not a stage" in unknown.stderr


def test_stage_env_and_workdir(tmp_path):
    needs_root()
    (tmp_path / "sub").mkdir()
    stages = [
        {
            "name": "env",
            "run": 'echo "$GREETING $CTPROF_RUN_DIR" > seen.txt',
            "shell": True,
            "env": {"GREETING": "hello"},
            "workdir": "sub",
        }
    ]
    out = tmp_path / "run"
    proc = ctprof("pipeline", _write_pipeline(tmp_path, stages), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    greeting, run_dir = (tmp_path / "sub" / "seen.txt").read_text().split()
    assert greeting == "hello"
    assert run_dir == str(out / "01-env")


def test_mark_inside_stage(tmp_path):
    needs_root()
    truth_path = str(tmp_path / "truth.json")
    stages = [
        _burn_stage("before", str(tmp_path / "before.json"), "1", "200"),
        _burn_stage("marked", truth_path, "4", "250", "--mark", "halfway"),
    ]
    out = tmp_path / "run"
    pipeline = _write_pipeline(tmp_path, stages, interval=0.05)
    proc = ctprof("pipeline", pipeline, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    truth = read_json(truth_path)
    entry = _stage(read_json(out / "summary.json"), "marked")

    marks = read_marks(str(out / "02-marked"))
    assert [m.name for m in marks] == ["halfway"]
    mark = marks[0]
    assert truth["mark"]["mono"] <= mark.mono < truth["end"]["mono"]
    assert entry["start_mono"] < mark.mono < entry["end_mono"]
    assert abs(mark.t - truth["mark"]["t"]) < 2.0

    # After the mark the stage burns two children of 250 ms each, one after
    # the other. The window starts at the first sample after the mark, which
    # may come up to one 0.05 s interval of burning later.
    after = ctprof("delta", str(out), "--from", "halfway", "--json", check=True)
    window = json.loads(after.stdout)
    assert window["container"]["cpu_seconds"] == pytest.approx(0.5, abs=0.08)
    first_sample = window["window"]["first_sample_seconds"]
    pipeline_start = read_json(out / "summary.json")["stages"][0]["start_mono"]
    assert first_sample >= mark.mono - pipeline_start - 1e-6

    whole = ctprof("delta", str(out), "--from", "marked", "--to", "marked", "--json")
    assert whole.returncode == 0, whole.stderr
    stage_window = json.loads(whole.stdout)
    assert stage_window["container"]["cpu_seconds"] == pytest.approx(
        entry["container"]["cpu_seconds"], rel=0.01
    )


def test_report_prints_stage_table(tmp_path):
    needs_root()
    stages = [
        {"name": "alpha", "run": ["true"]},
        {"name": "beta", "run": ["sh", "-c", "exit 5"]},
    ]
    out = tmp_path / "run"
    ctprof("pipeline", _write_pipeline(tmp_path, stages), "-q", "-o", str(out))
    proc = ctprof("report", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "alpha" in proc.stdout
    assert "beta" in proc.stdout
    assert "total" in proc.stdout
    for mode in catalog.CPU_MODES_PARTITION:
        assert mode in proc.stdout
    assert "Stage beta failed with exit status 5" in proc.stdout


def test_report_recomputes_killed_pipeline(tmp_path):
    needs_root()
    stages = [{"name": "only", "run": ["true"]}]
    out = tmp_path / "run"
    ctprof("pipeline", _write_pipeline(tmp_path, stages), "-q", "-o", str(out))
    os.unlink(out / "summary.json")
    proc = ctprof("report", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "did not finish" in proc.stdout
    assert "only" in proc.stdout


def test_sigint_overrides_continue_on_error(tmp_path):
    needs_root()
    stages = [
        {"name": "long", "run": ["sleep", "30"], "continue_on_error": True},
        {"name": "next", "run": ["touch", "next.txt"]},
    ]
    pipeline = _write_pipeline(tmp_path, stages, interval=0.1)
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ctprof", "pipeline", pipeline, "-o", str(out)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while not (out / "01-long" / "meta.json").exists():
        assert time.monotonic() < deadline, "the first stage never started"
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    summary = read_json(out / "summary.json")
    assert summary["failed_stage"] == "long"
    assert summary["stages"][0]["exit_code"] == 130
    assert summary["stages"][0]["signals_forwarded"] == ["SIGINT"]
    assert summary["not_run_stages"] == ["next"]
    assert not (tmp_path / "next.txt").exists()


def test_missing_workdir_fails_stage(tmp_path):
    needs_root()
    stages = [
        {"name": "makes-dir", "run": ["mkdir", "made"]},
        {"name": "uses-dir", "run": ["touch", "inside.txt"], "workdir": "made"},
        {"name": "no-dir", "run": ["true"], "workdir": "absent"},
    ]
    out = tmp_path / "run"
    pipeline = _write_pipeline(tmp_path, stages)
    lines = open(pipeline).read().splitlines()
    stage_line = 1 + next(i for i, x in enumerate(lines) if "name: no-dir" in x)
    proc = ctprof("pipeline", pipeline, "-o", str(out))
    assert proc.returncode == 1, proc.stderr
    assert (tmp_path / "made" / "inside.txt").exists()
    summary = read_json(out / "summary.json")
    no_dir = _stage(summary, "no-dir")
    assert summary["failed_stage"] == "no-dir"
    assert no_dir["directory"] is None
    assert "absent does not exist" in no_dir["error"]
    assert f"line {stage_line}" in no_dir["error"]


def test_cli_options_override_file_settings(tmp_path):
    needs_root()
    stages = [{"name": "nap", "run": ["sleep", "0.3"]}]
    pipeline = _write_pipeline(tmp_path, stages, interval=0.05, levels="host")

    from_file = tmp_path / "file"
    proc = ctprof("pipeline", pipeline, "-q", "-o", str(from_file))
    assert proc.returncode == 0, proc.stderr
    stage_meta = read_json(from_file / "01-nap" / "meta.json")
    assert stage_meta["levels"] == ["host"]
    assert stage_meta["interval_seconds"] == 0.05
    samples = read_samples(from_file / "01-nap")
    assert len(samples) >= 5
    assert all("container" not in s for s in samples)

    from_cli = tmp_path / "cli"
    proc = ctprof("pipeline", pipeline, "-q", "-i", "0", "-l", "c", "-o", str(from_cli))
    assert proc.returncode == 0, proc.stderr
    stage_meta = read_json(from_cli / "01-nap" / "meta.json")
    assert stage_meta["levels"] == ["container"]
    assert stage_meta["mode"] == "delta"
    samples = read_samples(from_cli / "01-nap")
    assert len(samples) == 2
    assert all("host" not in s for s in samples)
    meta = read_json(from_cli / "meta.json")
    assert meta["levels"] == ["container"]
    assert meta["interval_seconds"] == 0


def test_force_rerun_replaces_pipeline(tmp_path):
    needs_root()
    stages = [{"name": "alpha", "run": ["true"]}, {"name": "beta", "run": ["true"]}]
    pipeline = _write_pipeline(tmp_path, stages, interval=0)
    out = tmp_path / "run"
    first = ctprof("pipeline", pipeline, "-q", "-o", str(out))
    assert first.returncode == 0, first.stderr
    again = ctprof("pipeline", pipeline, "-q", "-o", str(out), "--force")
    assert again.returncode == 0, again.stderr

    # A stage directory that is not a run directory keeps its files under
    # --force, and the stage still records into it.
    shutil.rmtree(out / "01-alpha")
    (out / "01-alpha").mkdir()
    (out / "01-alpha" / "notes.txt").write_text("kept")
    third = ctprof("pipeline", pipeline, "-q", "-o", str(out), "--force")
    assert third.returncode == 0, third.stderr
    assert (out / "01-alpha" / "notes.txt").read_text() == "kept"
    assert read_json(out / "01-alpha" / "meta.json")["status"] == "complete"
    summary = read_json(out / "summary.json")
    assert [e["exit_code"] for e in summary["stages"]] == [0, 0]
    assert summary["status"] == "complete"


def test_force_checks_stages_before_writing(tmp_path):
    needs_root()
    stages = [{"name": "alpha", "run": ["true"]}, {"name": "beta", "run": ["true"]}]
    pipeline = _write_pipeline(tmp_path, stages, interval=0)
    out = tmp_path / "run"
    first = ctprof("pipeline", pipeline, "-q", "-o", str(out))
    assert first.returncode == 0, first.stderr
    shutil.rmtree(out / "02-beta")
    (out / "02-beta").write_text("not a directory")
    before = {
        name: (out / name).read_bytes()
        for name in ("meta.json", "summary.json", "01-alpha/meta.json")
    }

    again = ctprof("pipeline", pipeline, "-q", "-o", str(out), "--force")
    assert again.returncode == 2, again.stderr
    lines = again.stderr.strip().splitlines()
    assert len(lines) == 1, again.stderr
    assert f"{out / '02-beta'} exists and is not a directory" in lines[0]
    for name, content in before.items():
        assert (out / name).read_bytes() == content, name


def test_quiet_prints_stage_errors(tmp_path):
    needs_root()
    missing = _write_pipeline(tmp_path, [{"name": "gone", "run": ["nosuchprog-zz"]}])
    proc = ctprof("pipeline", missing, "-q", "-o", str(tmp_path / "missing"))
    assert proc.returncode == 127
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "stage gone did not start" in lines[0]
    assert "command not found: nosuchprog-zz" in lines[0]

    no_dir = [{"name": "nowhere", "run": ["true"], "workdir": "absent"}]
    proc = ctprof(
        "pipeline", _write_pipeline(tmp_path, no_dir), "-q", "-o", str(tmp_path / "nd")
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "stage nowhere did not start" in lines[0]
    assert "absent does not exist" in lines[0]

    fails = [{"name": "fails", "run": ["sh", "-c", "exit 3"]}]
    proc = ctprof(
        "pipeline", _write_pipeline(tmp_path, fails), "-q", "-o", str(tmp_path / "f")
    )
    assert proc.returncode == 3
    assert "stage fails exited with status 3" in proc.stderr

    works = [{"name": "works", "run": ["true"]}]
    proc = ctprof(
        "pipeline", _write_pipeline(tmp_path, works), "-q", "-o", str(tmp_path / "w")
    )
    assert proc.returncode == 0
    assert proc.stderr == ""
    assert proc.stdout == ""


def test_report_after_sigkill_during_stage(tmp_path):
    needs_root()
    stages = [
        {"name": "one", "run": ["true"]},
        {"name": "two", "run": ["sleep", "30"]},
        {"name": "three", "run": ["true"]},
    ]
    pipeline = _write_pipeline(tmp_path, stages, interval=0.1)
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ctprof", "pipeline", "-q", pipeline, "-o", str(out)],
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 20
    stage_dir = out / "02-two"
    while not (stage_dir / store.SAMPLES).exists() or len(read_samples(stage_dir)) < 3:
        assert time.monotonic() < deadline, "stage two never started sampling"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    kill_orphans(stage_dir)

    report = ctprof("report", str(out))
    assert report.returncode == 0, report.stderr
    assert "the profiler stopped during stage two" in report.stdout
    assert "did not finish" in report.stdout
    assert "failed" not in report.stdout
    assert "None" not in report.stdout
    assert "Not run: three." in report.stdout


def test_missing_top_level_workdir_names_its_line(tmp_path):
    needs_root()
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        'name: test\nworkdir: absent\nstages:\n  - name: first\n    run: ["true"]\n'
    )
    out = tmp_path / "run"
    proc = ctprof("pipeline", str(path), "-o", str(out))
    assert proc.returncode == 1, proc.stderr
    error = _stage(read_json(out / "summary.json"), "first")["error"]
    assert "absent does not exist" in error
    assert "the top-level workdir on line 2" in error
