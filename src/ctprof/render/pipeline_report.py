"""A pipeline's summary as per-stage tables (rich).

The first table gives each stage's wall time, CPU, memory, I/O and exit
status. The second gives the host CPU time by mode per stage, as in the
Container Profiler's delta table. Each table ends with the pipeline's total.
"""

from __future__ import annotations

from rich.table import Table

from .. import catalog
from .report import _console
from .units import human_bytes, human_percent, human_seconds


def _text(value: object) -> str:
    """Return a table cell or message text, with "n/a" for a missing value."""
    return "n/a" if value is None else str(value)


def stage_table(summary: dict) -> Table:
    """Return the table of wall time, CPU, memory, I/O and status per stage."""
    t = Table(
        title=f"Pipeline {_text(summary.get('name'))}: stages", title_justify="left"
    )
    for name in (
        "#",
        "stage",
        "exit",
        "wall",
        "CPU",
        "user",
        "system",
        "memory peak",
        "disk read",
        "disk written",
        "net received",
        "net sent",
    ):
        t.add_column(name, justify="left" if name == "stage" else "right")
    for entry in summary.get("stages") or []:
        t.add_row(str(entry.get("number", "")), *_stage_cells(entry))
    total = summary.get("total")
    if total:
        t.add_section()
        t.add_row("", *_stage_cells(total))
    return t


def _stage_cells(entry: dict) -> list[str]:
    c = entry.get("container") or {}
    return [
        _text(entry.get("name")),
        _text(entry.get("exit_code")),
        human_seconds(entry.get("elapsed_seconds")),
        human_seconds(c.get("cpu_seconds")),
        human_seconds(c.get("cpu_user_seconds")),
        human_seconds(c.get("cpu_system_seconds")),
        human_bytes(c.get("memory_peak_bytes")),
        human_bytes(c.get("io_read_bytes")),
        human_bytes(c.get("io_write_bytes")),
        human_bytes(c.get("network_receive_bytes")),
        human_bytes(c.get("network_transmit_bytes")),
    ]


def cpu_mode_stage_table(summary: dict) -> Table:
    """Return the host CPU time by mode (percent of all CPUs) per stage."""
    t = Table(
        title="Host CPU time by mode per stage (% of all CPUs)", title_justify="left"
    )
    t.add_column("stage")
    for mode in catalog.CPU_MODES_PARTITION:
        t.add_column(mode, justify="right")
    for entry in summary.get("stages") or []:
        t.add_row(*_mode_cells(entry))
    total = summary.get("total")
    if total:
        t.add_section()
        t.add_row(*_mode_cells(total))
    return t


def _mode_cells(entry: dict) -> list[str]:
    modes = (entry.get("host") or {}).get("cpu_mode_percent") or {}
    cells = [_text(entry.get("name"))]
    for mode in catalog.CPU_MODES_PARTITION:
        cells.append(human_percent(modes.get(mode)))
    return cells


def outcome_lines(summary: dict) -> list[str]:
    """Return the lines that describe how the pipeline ended."""
    lines = []
    failed = summary.get("failed_stage")
    if failed is not None:
        code = summary.get("exit_code")
        status = "" if code is None else f" with exit status {code}"
        lines.append(f"Stage {failed} failed{status}; the pipeline stopped there.")
    if summary.get("not_run_stages"):
        lines.append(f"Not run: {', '.join(summary['not_run_stages'])}.")
    if summary.get("skipped_stages"):
        lines.append(
            f"Skipped (before --from-stage): {', '.join(summary['skipped_stages'])}."
        )
    if summary.get("tolerated_failures"):
        lines.append(
            "Failed but continued (continue_on_error): "
            f"{', '.join(summary['tolerated_failures'])}."
        )
    for entry in summary.get("stages") or []:
        if entry.get("error"):
            lines.append(f"Stage {entry['name']} did not start: {entry['error']}")
    from_process = [
        _text(e.get("name"))
        for e in summary.get("stages") or []
        if (e.get("container") or {}).get("io_source")
    ]
    if from_process:
        lines.append(
            f"Disk bytes of {', '.join(from_process)}: from the main process's "
            "/proc/PID/io (children it waited for included), because the "
            "cgroup's block I/O counters are not available."
        )
    if summary.get("status") == "recomputed":
        lines.insert(0, _recomputed_line(summary))
    return lines


def _recomputed_line(summary: dict) -> str:
    computed = "The summary below was computed from the stage directories."
    unfinished = summary.get("unfinished_stage")
    if unfinished is None:
        return f"The profiler did not finish this pipeline. {computed}"
    return (
        "The pipeline did not finish: the profiler stopped during stage "
        f"{unfinished}. {computed}"
    )


def print_pipeline_report(
    summary: dict, directory: str | None = None, err: bool = False
) -> None:
    """Print the per-stage tables, then how the pipeline ended."""
    console = _console(err)
    lines = outcome_lines(summary)
    if summary.get("status") == "recomputed":
        console.print(f"[yellow]{lines.pop(0)}[/]")
    console.print(stage_table(summary))
    console.print(cpu_mode_stage_table(summary))
    for line in lines:
        console.print(line)
    if directory is not None:
        console.print(
            f"Recorded to {directory}; each stage's details: "
            f"ctprof report {directory}/NN-STAGE"
        )
