"""``ctprof run`` where no cgroup can be used: it follows the process tree."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from conftest import needs_root, read_json, read_samples

# Unmount every cgroup hierarchy in a private mount namespace, then run
# ctprof there: the same state as a host without cgroupfs mounted.
_UNMOUNT = (
    'for m in $(awk \'$9 == "cgroup" || $9 == "cgroup2" {print $5}\' '
    '/proc/self/mountinfo | sort -r); do umount -l "$m"; done; exec "$@"'
)


def _run_without_cgroups(*args: str) -> subprocess.CompletedProcess:
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is missing")
    return subprocess.run(
        ["unshare", "-m", "sh", "-c", _UNMOUNT, "sh"]
        + [sys.executable, "-m", "ctprof", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_process_tree_fallback_warns_once_and_records(tmp_path):
    needs_root()
    run_dir = tmp_path / "run"
    script = "import subprocess; subprocess.run(['sleep', '0.6']); raise SystemExit(3)"
    proc = _run_without_cgroups(
        "run", "-q", "-i", "0.1", "-o", str(run_dir), "--", sys.executable, "-c", script
    )
    assert proc.returncode == 3, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1
    assert "process tree" in warnings[0]
    assert "between samples" in warnings[0]

    meta = read_json(run_dir / "meta.json")
    assert meta["target"]["mode"] == "process-tree"
    assert meta["cgroup_layout"]["kind"] == "none"
    reason = meta["unavailable"]["container"]["cpu_usage_seconds_total"]
    assert "process-tree" in reason

    summary = read_json(run_dir / "summary.json")
    assert summary["container"]["cpu_seconds"] is None
    assert summary["exit_code"] == 3
    names = {row[2] for s in read_samples(run_dir) for row in s.get("processes", [])}
    assert "sleep" in names
    assert any(name.startswith("python") for name in names)
