"""``ctprof report``: a run's summary as tables in human units (rich)."""

from __future__ import annotations

import shlex

from rich.console import Console, JustifyMethod
from rich.table import Table

from .. import catalog
from .units import human_bytes, human_count, human_percent, human_seconds


def _console(err: bool = False) -> Console:
    console = Console(stderr=err, highlight=False, soft_wrap=False)
    if not console.is_terminal:
        # rich assumes 80 columns when writing to a pipe or file; the process
        # table needs more to stay readable in logs.
        console.width = max(console.width, 140)
    return console


def print_run_summary(
    meta: dict, summary: dict, directory: str, err: bool = False
) -> None:
    """Print the short block shown after a recording ends."""
    c = summary.get("container", {})
    console = _console(err)
    elapsed = summary.get("elapsed_seconds")
    console.print(
        f"ctprof: recorded {summary.get('samples')} samples in {human_seconds(elapsed)} to {directory}"
    )
    console.print(
        f"ctprof: CPU {human_seconds(c.get('cpu_seconds'))}, memory peak {human_bytes(c.get('memory_peak_bytes'))}, "
        f"exit status {describe_exit(meta, summary)}; details: ctprof report {directory}"
    )


def describe_exit(meta: dict, summary: dict) -> str:
    """Return the exit status as text, with the reason when it is missing."""
    code = summary.get("exit_code", meta.get("exit_code"))
    if code is not None:
        return str(code)
    if meta.get("status") != "complete":
        return "n/a (the profiler stopped before the target ended)"
    return "n/a (the target was still running when recording ended)"


def root_cgroup_note(meta: dict) -> str | None:
    """Return a warning when the profiled cgroup is a hierarchy's root, whose
    counters cover every process of the host."""
    mounts = meta.get("cgroup_layout", {}).get("mounts", [])
    roots = {m["mountpoint"] for m in mounts if m.get("root") == "/"}
    dirs = meta.get("target", {}).get("cgroup_dirs") or {}
    hit = sorted(k for k, d in dirs.items() if d in roots and k != "cpuset")
    if not hit:
        return None
    return (
        f"The profiled cgroup is the root of the {', '.join(hit)} hierarchy: its "
        "counters include every process on this host, not only the target's."
    )


def run_table(meta: dict, summary: dict) -> Table:
    t = Table(title="Run", show_header=False, title_justify="left")
    t.add_column("key", style="bold")
    t.add_column("value")
    target = meta.get("target", {})
    command = meta.get("command")
    if isinstance(command, list):
        command = shlex.join(command)
    interval = meta.get("interval_seconds") or 0
    mode = meta.get("mode", "n/a")
    if interval:
        mode = f"{mode}, every {interval} s"
    samples = str(summary.get("samples"))
    if interval:
        samples += f" ({summary.get('missed_deadlines') or 0} deadlines missed)"
    rows = [
        ("command", command or target.get("name") or "n/a"),
        ("target", f"{target.get('kind', 'n/a')} ({target.get('mode', 'cgroup')})"),
        ("cgroup layout", meta.get("cgroup_layout", {}).get("kind", "n/a")),
        ("start", meta.get("start") or "n/a"),
        ("end", meta.get("end") or "n/a (profiler did not finish)"),
        ("elapsed", human_seconds(summary.get("elapsed_seconds"))),
        ("mode", mode),
        ("samples", samples),
        ("exit status", describe_exit(meta, summary)),
    ]
    for key, value in rows:
        t.add_row(key, str(value))
    return t


def container_table(summary: dict) -> Table:
    c = summary.get("container", {})
    elapsed = summary.get("elapsed_seconds")
    cpu = c.get("cpu_seconds")
    cores = None if cpu is None or not elapsed else cpu / elapsed
    io_note = " (main process)" if c.get("io_source") else ""
    t = Table(
        title="Container (the run's cgroup)", show_header=False, title_justify="left"
    )
    t.add_column("metric", style="bold")
    t.add_column("value", justify="right")
    rows = [
        ("CPU time", human_seconds(cpu)),
        ("  user", human_seconds(c.get("cpu_user_seconds"))),
        ("  system", human_seconds(c.get("cpu_system_seconds"))),
        ("CPU used (mean cores)", "n/a" if cores is None else f"{cores:.2f}"),
        ("CPU throttled", human_seconds(c.get("cpu_throttled_seconds"))),
        ("memory peak", human_bytes(c.get("memory_peak_bytes"))),
        ("OOM kills", human_count(c.get("oom_kills"))),
        ("block I/O read" + io_note, human_bytes(c.get("io_read_bytes"))),
        ("block I/O written" + io_note, human_bytes(c.get("io_write_bytes"))),
        ("network received", human_bytes(c.get("network_receive_bytes"))),
        ("network sent", human_bytes(c.get("network_transmit_bytes"))),
        ("processes (max)", human_count(c.get("processes_max"))),
    ]
    for key, value in rows:
        t.add_row(key, value)
    return t


def cpu_mode_table(summary: dict) -> Table:
    modes = summary.get("host", {}).get("cpu_mode_percent", {})
    t = Table(title="Host CPU time by mode over the run", title_justify="left")
    for mode in catalog.CPU_MODES_PARTITION:
        t.add_column(mode, justify="right")
    t.add_row(*(human_percent(modes.get(mode)) for mode in catalog.CPU_MODES_PARTITION))
    return t


def process_table(summary: dict, limit: int = 10) -> Table:
    t = Table(title="Top processes by CPU", title_justify="left")
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("pid", "right"),
        ("name", "left"),
        ("CPU", "right"),
        ("user", "right"),
        ("system", "right"),
        ("peak RSS", "right"),
        ("read (rchar)", "right"),
        ("written (wchar)", "right"),
        ("command line", "left"),
    )
    for name, justify in columns:
        t.add_column(name, justify=justify, overflow="fold")
    for p in (summary.get("processes") or [])[:limit]:
        t.add_row(
            str(p.get("pid")),
            str(p.get("name")),
            human_seconds(p.get("cpu_seconds")),
            human_seconds(p.get("cpu_user_seconds")),
            human_seconds(p.get("cpu_system_seconds")),
            human_bytes(p.get("memory_peak_bytes")),
            human_bytes(p.get("rchar_bytes")),
            human_bytes(p.get("wchar_bytes")),
            str(p.get("cmdline") or "")[:80],
        )
    return t


def print_report(
    meta: dict, summary: dict, recomputed: bool, show_unavailable: bool = False
) -> None:
    console = _console()
    if recomputed:
        console.print(
            "[yellow]The profiler did not finish this run; the summary below was computed from samples.jsonl.gz.[/]"
        )
    console.print(run_table(meta, summary))
    levels = meta.get("levels") or list(catalog.LEVELS)
    note = root_cgroup_note(meta)
    if note:
        console.print(f"[yellow]{note}[/]")
    if catalog.CONTAINER in levels:
        console.print(container_table(summary))
    if catalog.HOST in levels:
        console.print(cpu_mode_table(summary))
    if summary.get("processes"):
        console.print(process_table(summary))
    unavailable = meta.get("unavailable") or {}
    count = sum(len(v) for v in unavailable.values())
    if count and not show_unavailable:
        console.print(
            f"{count} metrics could not be read on this host; see meta.json or use --unavailable."
        )
    elif count:
        t = Table(title="Metrics not recorded", title_justify="left")
        t.add_column("level")
        t.add_column("metric")
        t.add_column("reason", overflow="fold")
        for level, items in unavailable.items():
            for name, reason in items.items():
                t.add_row(level, name, reason)
        console.print(t)
    incomplete = meta.get("end_sample_incomplete")
    if incomplete:
        console.print(
            f"[yellow]The end sample lacks {', '.join(incomplete['missing'])}: "
            f"{incomplete['reason']}. Their totals stop at the last sample that "
            "has them (in delta mode, the start sample).[/]"
        )
    if summary.get("counter_resets"):
        console.print(
            f"Counters that went backwards (not subtracted): {', '.join(summary['counter_resets'])}"
        )
