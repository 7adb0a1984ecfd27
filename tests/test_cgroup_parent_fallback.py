"""CgroupReader reads a removed cgroup's totals from its parent (real cgroups)."""

from __future__ import annotations

import os
import subprocess

import pytest

from ctprof.collect import cgroupfs as cg
from ctprof.collect.cgroup_reader import CgroupReader

from conftest import needs_root

# A shell loop of about 0.1 s of CPU.
BURN = "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done"


@pytest.fixture
def parent_and_child():
    """Yield (parent dirs, child dirs) made in each hierarchy ctprof reads."""
    needs_root()
    layout = cg.detect_layout()
    name = f"ctprof-test-fallback-{os.getpid()}"
    parent: dict[str, str] = {}
    for controller in ("cpu", "cpuacct", "memory", "blkio", "pids"):
        mount = layout.v1_mount(controller)
        if mount is not None and mount.root == "/":
            parent[controller] = os.path.join(mount.mountpoint, name)
    v2 = layout.v2_mount()
    if v2 is not None and v2.root == "/":
        parent[cg.UNIFIED] = os.path.join(v2.mountpoint, name)
    child = {key: os.path.join(path, "child") for key, path in parent.items()}
    for path in list(parent.values()) + list(child.values()):
        os.makedirs(path, exist_ok=True)
    yield parent, child
    for path in list(child.values()) + list(parent.values()):
        if os.path.isdir(path):
            os.rmdir(path)


def _burn_in(dirs: dict[str, str]) -> None:
    join = " ".join(f"echo $$ > {d}/cgroup.procs;" for d in dirs.values())
    subprocess.run(["sh", "-c", join + BURN], check=True)


def test_removed_child_read_from_parent(parent_and_child):
    parent, child = parent_and_child
    reader = CgroupReader(child, fallback_dirs=parent)
    _burn_in(child)
    own = reader.read()
    for path in child.values():
        os.rmdir(path)

    after = reader.read()
    reader.close_parent()

    print(f"own {own['cg_cpu']}, after removal {after['cg_cpu']}")
    assert own["cg_cpu"]["usage"] > 0.01
    assert reader.parent_reads == 1
    assert after["cg_cpu"]["usage"] == pytest.approx(own["cg_cpu"]["usage"])
    assert after["cg_memory"]["peak"] >= own["cg_memory"]["peak"]
    assert after["cg_memory"]["pgfault"] >= own["cg_memory"]["pgfault"]
    # Gauges and counters of the parent's own tasks are left out.
    assert "usage" not in after["cg_memory"]
    assert "oom_kill" not in after["cg_memory"]
    assert "cg_throttle" not in after
    assert "cg_pids" not in after


def test_reader_without_fallback_loses_totals(parent_and_child):
    parent, child = parent_and_child
    reader = CgroupReader(child)
    _burn_in(child)
    for path in child.values():
        os.rmdir(path)

    after = reader.read()

    assert "cg_cpu" not in after
    assert reader.parent_reads == 0
