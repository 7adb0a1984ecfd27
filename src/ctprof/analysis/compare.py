"""Two runs' totals side by side, with the absolute and relative change.

Each compared value is a summary key (``container.cpu_seconds``) or a catalog
column (``container.memory_usage_bytes``). A column gives a counter's increase
over the run, or a gauge's maximum. A change is past the threshold when its
magnitude exceeds the threshold in percent of run A's value. A value that is 0
in run A and not 0 in run B has no relative change and always counts as past it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import catalog
from ..errors import UsageError
from .summary import SUMMARY_KEYS, lookup
from .window import delta

# Totals compared when no --metric is given: the run's duration and the
# container's totals (host-wide numbers depend on whatever else ran).
DEFAULT_KEYS = tuple(
    key
    for key in SUMMARY_KEYS
    if key == "elapsed_seconds" or key.startswith("container.")
)


@dataclass
class Change:
    """One compared value of two runs."""

    key: str
    unit: str
    a: float
    b: float
    # (b - a) / a in percent, None when a is 0.
    percent: float | None
    crossed: bool

    @property
    def difference(self) -> float:
        return self.b - self.a


def run_totals(directory: str) -> dict:
    """Return a run's totals over the whole run (a pipeline's stages added up)."""
    totals = delta(directory, None, None)
    window = totals["window"]
    if totals.get("elapsed_seconds") is None:
        span = window["last_sample_seconds"] - window["first_sample_seconds"]
        totals["elapsed_seconds"] = round(span, 6)
    return totals


def unit_of(key: str) -> str:
    metric = catalog.metric_for_column(key)
    if metric is not None:
        return metric.unit
    if key.endswith("_bytes"):
        return "bytes"
    if key.endswith("_seconds"):
        return "seconds"
    return "count"


def value_of(totals: dict, key: str) -> float | None:
    """Return a summary key's value, or a catalog column's increase or maximum."""
    metric = catalog.metric_for_column(key)
    if metric is None:
        value = lookup(totals, key)
        return value if isinstance(value, (int, float)) else None
    entry = (totals.get("metrics") or {}).get(key)
    if entry is None:
        return None
    return entry["delta"] if metric.is_counter else entry["max"]


def check_key(key: str) -> None:
    known = catalog.metric_for_column(key) is not None or key in SUMMARY_KEYS
    if not known:
        raise UsageError(
            f"unknown metric {key!r}: give a summary key such as "
            "container.cpu_seconds or a catalog column such as "
            "container.memory_usage_bytes"
        )


def compare(
    totals_a: dict, totals_b: dict, keys: tuple[str, ...], threshold: float
) -> list[Change]:
    """Return one Change per key that either run recorded.

    Raises UsageError when a key has a value in one run and not in the other.
    """
    changes = []
    for key in keys:
        a = value_of(totals_a, key)
        b = value_of(totals_b, key)
        if a is None and b is None:
            continue
        if a is None or b is None:
            run_name = "A" if a is None else "B"
            raise UsageError(
                f"metric {key} is missing from run {run_name}; compare runs recorded "
                "with the same levels, or leave it out with --metric"
            )
        if a == 0:
            percent = 0.0 if b == 0 else None
        else:
            percent = 100.0 * (b - a) / abs(a)
        crossed = abs(percent) > threshold if percent is not None else True
        changes.append(Change(key, unit_of(key), a, b, percent, crossed))
    return changes
