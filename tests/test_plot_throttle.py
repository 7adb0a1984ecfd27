"""The throttling panel on a real run whose cgroup is limited to 0.2 CPU."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from ctprof.analysis.tasks import timeline
from ctprof.render.panels import container_cpu, container_throttling, run_figures
from ctprof.render.plots import draw_figure

from conftest import WORKLOADS, ctprof, needs_root, read_samples

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def throttled_run(tmp_path_factory) -> str:
    needs_root()
    directory = str(tmp_path_factory.mktemp("throttled") / "run")
    script = os.path.join(WORKLOADS, "throttle_self.py")
    argv = ["run", "-q", "-i", "0.1", "-o", directory, "--", sys.executable, script]
    proc = ctprof(*argv, "1.5")
    assert proc.returncode == 0, proc.stderr
    return directory


def test_throttling_panel_rates(throttled_run):
    samples = read_samples(throttled_run)
    frame = timeline(throttled_run, top=3).frame
    panel = container_throttling(frame)
    assert panel is not None
    assert panel.unit == "seconds/s"
    throttled = panel.lines[0].y
    name = "cpu_throttled_seconds_total"
    for i in range(1, len(samples)):
        increase = samples[i]["container"][name] - samples[i - 1]["container"][name]
        dt = samples[i]["mono"] - samples[i - 1]["mono"]
        assert throttled[i] == pytest.approx(increase / dt, rel=1e-9)
    assert np.nanmax(throttled) > 0.1


def test_throttled_cpu_stays_under_quota(throttled_run):
    frame = timeline(throttled_run, top=3).frame
    total = next(line.y for line in container_cpu(frame).lines if line.label == "total")
    # The quota is 0.2 CPU per 100 ms period. The first intervals ran before
    # the workload set it, so they are left out.
    assert np.nanmean(total[5:]) < 0.3


def test_throttling_drawn_in_cpu_figure(throttled_run, tmp_path):
    series = timeline(throttled_run, top=3)
    cpu = next(f for f in run_figures(series.frame, series.procs) if f.key == "cpu")
    fig = draw_figure(cpu, series, "test")
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert "Container CPU throttled" in titles
    proc = ctprof("plot", throttled_run, "-o", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "cpu.png").exists()
