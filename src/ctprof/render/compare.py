"""``ctprof compare``: two runs' totals side by side (rich)."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from ..analysis.compare import Change
from .report import _console
from .units import format_unit


def _percent(change: Change) -> str:
    if change.percent is None:
        return "new"
    return f"{change.percent:+.1f} %"


def comparison_table(run_a: str, run_b: str, changes: list[Change]) -> Table:
    t = Table(title="Comparison", title_justify="left")
    t.add_column("metric")
    t.add_column(f"A: {escape(run_a)}", justify="right", overflow="fold")
    t.add_column(f"B: {escape(run_b)}", justify="right", overflow="fold")
    t.add_column("change", justify="right")
    t.add_column("% change", justify="right")
    for change in changes:
        sign = "+" if change.difference > 0 else ""
        t.add_row(
            escape(change.key),
            format_unit(change.a, change.unit),
            format_unit(change.b, change.unit),
            sign + format_unit(change.difference, change.unit),
            _percent(change),
            style="bold red" if change.crossed else None,
        )
    return t


def print_comparison(
    run_a: str, run_b: str, changes: list[Change], threshold: float
) -> None:
    console = _console()
    console.print(comparison_table(run_a, run_b, changes))
    crossed = sum(change.crossed for change in changes)
    console.print(
        f"{crossed} of {len(changes)} values changed by more than {threshold:g} %"
    )
