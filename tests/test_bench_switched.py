"""Arithmetic of bench/sysbench.py's switched experiment, on made-up reports.

The experiment takes minutes on a quiet machine, so it runs in the benchmark
only. These tests pin which seconds it compares and how.
"""

from __future__ import annotations

import pytest

from bench import sysbench


def _reports(first_end: float, count: int, eps) -> list[tuple[float, float]]:
    """Return sysbench's per-second reports as (arrival time, events per second)."""
    return [(first_end + k, eps(first_end + k)) for k in range(count)]


def test_classify_skips_settling_and_boundary_seconds():
    switches = [0.0, 10.0, 20.0, 30.0]  # blocks: off 0-10, on 10-20, off 20-30
    reports = _reports(0.5, 30, lambda t: 100.0)
    rows = sysbench._classify(reports, switches, blocks=1)
    seconds_by_block: dict[int, int] = {}
    for _, block in rows:
        seconds_by_block[block] = seconds_by_block.get(block, 0) + 1
    # Seconds end at 0.5, 1.5, ... A second (t - 1, t] counts for a block
    # [s, e) when s + 1 <= t - 1 and t <= e. For the on block that is t from
    # 12.5 to 19.5, 8 seconds, and the second across 10.0 is never used.
    assert seconds_by_block == {0: 8, 1: 8, 2: 8}


def test_block_overhead_neighbour_time_ratio():
    switches = [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]

    def eps(t: float) -> float:
        block = int((t - 0.5) // 10)
        return 990.0 if block % 2 else 1000.0

    rows = sysbench._classify(_reports(0.5, 50, eps), switches, blocks=2)
    overheads = sysbench._block_overheads(rows, blocks=2)
    assert overheads == pytest.approx([1000 / 990 - 1] * 2)


def test_block_overhead_ignores_one_outlier():
    switches = [0.0, 10.0, 20.0, 30.0]

    def eps(t: float) -> float:
        return 400.0 if 14 < t < 15 else 1000.0  # other work took a core

    rows = sysbench._classify(_reports(0.5, 30, eps), switches, blocks=1)
    assert sysbench._block_overheads(rows, blocks=1) == [0.0]


def test_block_overhead_without_seconds_raises():
    with pytest.raises(RuntimeError, match="no block"):
        sysbench._block_overheads([], blocks=3)


def test_bootstrap_median_interval_repeatable():
    values = [0.001 * k for k in range(-5, 16)]
    low, high = sysbench._bootstrap_median(values, seed=3)
    assert low <= 0.005
    assert high >= 0.005
    assert (low, high) == sysbench._bootstrap_median(values, seed=3)


def test_bootstrap_median_single_block():
    assert sysbench._bootstrap_median([0.002], seed=1) == (0.002, 0.002)


def test_within_block_cv_uses_stopped_blocks_only():
    rows = [(100.0, 0), (102.0, 0), (50.0, 1), (150.0, 1), (99.0, 2), (101.0, 2)]
    cv = sysbench._within_block_cv(rows)
    assert cv == pytest.approx(0.01, rel=0.01)
