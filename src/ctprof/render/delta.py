"""``ctprof delta``: the totals over a window of a run, as tables (rich)."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from .. import catalog
from .report import _console, container_table, cpu_mode_table, process_table
from .units import format_unit, human_bytes, human_seconds


def window_line(window: dict) -> str:
    first = window["first_sample_seconds"]
    last = window["last_sample_seconds"]
    return (
        f"Window from {window.get('from') or 'start'} to {window.get('to') or 'end'}: "
        f"{window['samples']} samples, {first:.3f} s to {last:.3f} s since the first "
        f"sample ({human_seconds(last - first)})"
    )


def metrics_table(summary: dict) -> Table:
    """Return every container metric of the window: a counter's increase or a
    gauge's min, mean and max."""
    t = Table(title="Container metrics over the window", title_justify="left")
    t.add_column("metric")
    for name in ("delta", "min", "mean", "max"):
        t.add_column(name, justify="right")
    for column, entry in (summary.get("metrics") or {}).items():
        level, _, _ = catalog.parse_column_name(column)
        if level != catalog.CONTAINER:
            continue
        unit = entry["unit"]
        if "delta" in entry:
            t.add_row(escape(column), format_unit(entry["delta"], unit), "", "", "")
        else:
            t.add_row(
                escape(column),
                "",
                *(format_unit(entry[k], unit) for k in ("min", "mean", "max")),
            )
    return t


def stages_table(result: dict) -> Table:
    t = Table(title="Stages inside the window", title_justify="left")
    for name in ("stage", "from", "to", "CPU", "memory peak", "read", "written"):
        t.add_column(name, justify="left" if name == "stage" else "right")
    for stage in result["stages"]:
        window = stage["window"]
        container = stage.get("container") or {}
        t.add_row(
            escape(str(stage.get("name"))),
            f"{window['first_sample_seconds']:.3f} s",
            f"{window['last_sample_seconds']:.3f} s",
            human_seconds(container.get("cpu_seconds")),
            human_bytes(container.get("memory_peak_bytes")),
            human_bytes(container.get("io_read_bytes")),
            human_bytes(container.get("io_write_bytes")),
        )
    return t


def print_delta(result: dict) -> None:
    console = _console()
    console.print(escape(window_line(result["window"])))
    if "stages" in result:
        console.print(stages_table(result))
        console.print(container_table({"container": result["container"]}))
        return
    console.print(container_table(result))
    console.print(cpu_mode_table(result))
    if result.get("processes"):
        console.print(process_table(result))
    console.print(metrics_table(result))
    if result.get("counter_resets"):
        console.print(
            "Counters that went backwards (not subtracted): "
            + ", ".join(result["counter_resets"])
        )
