"""Reduce long series for display while keeping their peaks.

The samples are cut into equal buckets of consecutive rows. Each bucket gives
two points: its minimum and its maximum, in the order they occurred, placed at
the bucket's first and last time. Every series of a run is cut at the same
bucket bounds, so all of them share one x array. A value's time is then exact
to within one bucket's width.
"""

from __future__ import annotations

import numpy as np


def bucket_bounds(count: int, buckets: int) -> list[tuple[int, int]] | None:
    """Return (start, stop) row ranges, or None when no reduction is needed."""
    if count <= 2 * buckets:
        return None
    edges = np.linspace(0, count, buckets + 1).astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def reduce_x(x: np.ndarray, bounds: list[tuple[int, int]] | None) -> np.ndarray:
    if bounds is None:
        return x
    return np.array([x[i] for a, b in bounds for i in (a, b - 1)], dtype=float)


def reduce_y(y: np.ndarray, bounds: list[tuple[int, int]] | None) -> np.ndarray:
    """Return the min and max of each bucket, in order of occurrence."""
    if bounds is None:
        return y
    starts = np.array([a for a, _ in bounds])
    stops = np.array([b for _, b in bounds])
    width = int((stops - starts).max())
    # One row per bucket, padded with NaN where a bucket is shorter.
    index = starts[:, None] + np.arange(width)[None, :]
    inside = index < stops[:, None]
    rows = np.where(inside, y[np.minimum(index, len(y) - 1)], np.nan)
    empty = np.all(np.isnan(rows), axis=1)
    low = np.argmin(np.where(np.isnan(rows), np.inf, rows), axis=1)
    high = np.argmax(np.where(np.isnan(rows), -np.inf, rows), axis=1)
    first = starts + np.minimum(low, high)
    second = starts + np.maximum(low, high)
    out = np.empty(2 * len(bounds))
    out[0::2] = y[first]
    out[1::2] = y[second]
    out[0::2][empty] = np.nan
    out[1::2][empty] = np.nan
    return out


def reduce_mean(y: np.ndarray, bounds: list[tuple[int, int]] | None) -> np.ndarray:
    """Return each bucket's mean twice, aligned with reduce_x.

    Shares such as CPU time by mode are reduced this way: the min and max of
    each share would come from different samples and no longer add up to 100 %.
    """
    if bounds is None:
        return y
    out = np.empty(2 * len(bounds))
    for k, (a, b) in enumerate(bounds):
        chunk = y[a:b]
        present = chunk[~np.isnan(chunk)]
        out[2 * k : 2 * k + 2] = present.mean() if present.size else np.nan
    return out
