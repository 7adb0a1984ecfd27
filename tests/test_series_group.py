"""SeriesGroup: the series of many samplers from one thread."""

from __future__ import annotations

import time

from ctprof import catalog
from ctprof.sampler import Sampler
from ctprof.series_group import SeriesGroup
from ctprof.store import RunWriter, iter_samples
from ctprof.targets.base import Target


def _sampler(directory, interval: float) -> Sampler:
    return Sampler(Target(), (catalog.HOST,), RunWriter(str(directory)), interval)


def _kinds(directory) -> list[str]:
    return [s["kind"] for s in iter_samples(str(directory))]


def test_each_sampler_keeps_its_schedule(tmp_path):
    fast = _sampler(tmp_path / "fast", 0.05)
    slow = _sampler(tmp_path / "slow", 0.2)
    group = SeriesGroup()
    group.add(fast)
    group.add(slow)
    time.sleep(1.05)
    group.close()
    fast_kinds = _kinds(tmp_path / "fast")
    slow_kinds = _kinds(tmp_path / "slow")
    assert fast_kinds[0] == "start"
    assert slow_kinds[0] == "start"
    assert 15 <= fast_kinds.count("sample") <= 21
    assert 4 <= slow_kinds.count("sample") <= 6
    seqs = [s["seq"] for s in iter_samples(str(tmp_path / "fast"))]
    assert seqs == list(range(len(seqs)))


def test_removed_sampler_takes_no_more_samples(tmp_path):
    kept = _sampler(tmp_path / "kept", 0.05)
    removed = _sampler(tmp_path / "removed", 0.05)
    group = SeriesGroup()
    group.add(kept)
    group.add(removed)
    time.sleep(0.3)
    group.remove(removed)
    removed.take("end")
    count = len(_kinds(tmp_path / "removed"))
    time.sleep(0.3)
    group.close()
    assert len(_kinds(tmp_path / "removed")) == count
    assert _kinds(tmp_path / "removed")[-1] == "end"
    assert _kinds(tmp_path / "kept").count("sample") >= 10


def test_failing_sampler_leaves_the_others(tmp_path):
    good = _sampler(tmp_path / "good", 0.05)
    bad = _sampler(tmp_path / "bad", 0.05)
    group = SeriesGroup()
    group.add(good)
    group.add(bad)

    def broken_write(sample):
        raise OSError(28, "No space left on device")

    bad.writer.write_sample = broken_write  # type: ignore[method-assign]
    time.sleep(0.4)
    group.close()
    assert len(group) == 1
    assert _kinds(tmp_path / "good").count("sample") >= 6


def test_lag_is_measured_from_each_deadline(tmp_path):
    sampler = _sampler(tmp_path / "one", 0.05)
    group = SeriesGroup()
    group.add(sampler)
    time.sleep(0.5)
    group.close()
    lags = [s["lag"] for s in iter_samples(str(tmp_path / "one")) if "lag" in s]
    assert lags
    assert all(lag >= 0 for lag in lags)
    assert sampler.missed == 0 or max(lags) > 0.05


def test_same_interval_shares_one_schedule(tmp_path):
    first = _sampler(tmp_path / "first", 0.1)
    second = _sampler(tmp_path / "second", 0.1)
    group = SeriesGroup()
    group.add(first)
    time.sleep(0.035)
    group.add(second)
    time.sleep(0.65)
    group.close()
    first_times = [
        s["mono"] for s in iter_samples(str(tmp_path / "first")) if "lag" in s
    ]
    second_times = [
        s["mono"] for s in iter_samples(str(tmp_path / "second")) if "lag" in s
    ]
    assert len(second_times) >= 4
    for t in second_times:
        nearest = min(abs(t - u) for u in first_times)
        assert nearest < 0.02, (t, first_times)
