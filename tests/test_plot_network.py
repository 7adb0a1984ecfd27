"""Network panels on a real run that sends data over 127.0.0.1."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from ctprof import catalog
from ctprof.analysis.tasks import timeline
from ctprof.render.panels import network

from conftest import WORKLOADS, ctprof, needs_root, read_samples

pytestmark = pytest.mark.slow

MIB = 16


@pytest.fixture(scope="module")
def loopback_run(tmp_path_factory) -> str:
    needs_root()
    directory = str(tmp_path_factory.mktemp("loopback") / "run")
    script = os.path.join(WORKLOADS, "loopback.py")
    proc = ctprof(
        "run",
        "-q",
        "-i",
        "0.1",
        "-o",
        directory,
        "--",
        sys.executable,
        script,
        str(MIB),
    )
    assert proc.returncode == 0, proc.stderr
    return directory


def test_network_panel_skips_idle_interfaces(loopback_run):
    series = timeline(loopback_run, top=3)
    panel = network(series.frame)
    assert panel is not None
    labels = [line.label for line in panel.lines]
    assert "lo rx" in labels
    assert "lo tx" in labels
    samples = read_samples(loopback_run)
    interfaces = samples[-1]["container"]["net"]
    name = "network_receive_bytes_total"
    for iface, fields in interfaces.items():
        moved = fields[name] - samples[0]["container"]["net"][iface][name]
        assert (f"{iface} rx" in labels) == (moved > 0), iface


def test_network_rate_equals_hand_computed(loopback_run):
    samples = read_samples(loopback_run)
    panel = network(timeline(loopback_run, top=3).frame)
    rx = next(line.y for line in panel.lines if line.label == "lo rx")
    name = "network_receive_bytes_total"
    total = 0.0
    for i in range(1, len(samples)):
        before = samples[i - 1]["container"]["net"]["lo"][name]
        after = samples[i]["container"]["net"]["lo"][name]
        dt = samples[i]["mono"] - samples[i - 1]["mono"]
        assert rx[i] == pytest.approx((after - before) / dt, rel=1e-9)
        total += rx[i] * dt
    # The rates add back up to at least the bytes the workload sent.
    assert total >= MIB * 1024 * 1024
    assert np.nanmax(rx) > 1024 * 1024
    assert catalog.get(catalog.CONTAINER, name).unit == "bytes"


def test_network_png_written(loopback_run, tmp_path):
    proc = ctprof("plot", loopback_run, "-o", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "network.png").exists()
