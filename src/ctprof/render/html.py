"""``ctprof html``: one self-contained HTML file that shows a run.

The page embeds plotly.js and its data, and its Content-Security-Policy allows
no fetch, so opening it makes no network request. Every string that came from
the profiled system (command lines, process names, labels, stage and mark
names) is escaped with html.escape here, or by the page's script for chart text.
"""

from __future__ import annotations

import logging
from html import escape

from plotly.offline import get_plotlyjs

from .. import __version__, catalog
from ..analysis.summary import process_totals
from ..analysis.tasks import Task, is_pipeline, load_tasks, timeline
from ..store import read_meta
from .html_assets import CONTENT_SECURITY_POLICY, SCRIPT, STYLE
from .html_data import BUCKETS, chart_data, script_json
from .panels import TOP_PROCESSES
from .units import human_bytes, human_count, human_percent, human_seconds

log = logging.getLogger(__name__)

# Rows of the process table per task, busiest first. A build that starts
# tens of thousands of short processes would otherwise make the file huge.
MAX_PROCESS_ROWS = 1000

# (key in a process_totals entry, heading, formatter)
PROCESS_COLUMNS = (
    ("pid", "pid", str),
    ("name", "name", str),
    ("cpu_seconds", "CPU", human_seconds),
    ("cpu_user_seconds", "user", human_seconds),
    ("cpu_system_seconds", "system", human_seconds),
    ("memory_peak_bytes", "peak RSS", human_bytes),
    ("read_bytes", "disk read", human_bytes),
    ("write_bytes", "disk written", human_bytes),
    ("rchar_bytes", "read (rchar)", human_bytes),
    ("wchar_bytes", "written (wchar)", human_bytes),
    ("cmdline", "command line", str),
)


def kv_table(title: str, rows: list[tuple[str, object]]) -> str:
    body = "".join(
        f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in rows
    )
    return f"<table><caption>{escape(title)}</caption>{body}</table>"


def run_rows(meta: dict, summary: dict) -> list[tuple[str, object]]:
    command = meta.get("command")
    if isinstance(command, list):
        command = " ".join(str(part) for part in command)
    target = meta.get("target") or {}
    return [
        ("name", meta.get("name") or "n/a"),
        ("command", command or target.get("name") or "n/a"),
        ("target", target.get("kind", "n/a")),
        ("host", (meta.get("static") or {}).get("hostname", "n/a")),
        ("start", meta.get("start") or "n/a"),
        ("end", meta.get("end") or "n/a (the profiler did not finish)"),
        ("elapsed", human_seconds(summary.get("elapsed_seconds"))),
        ("mode", f"{meta.get('mode', 'n/a')}, every {meta.get('interval_seconds')} s"),
        ("samples", summary.get("samples")),
        ("exit status", summary.get("exit_code")),
    ]


def container_rows(summary: dict) -> list[tuple[str, object]]:
    c = summary.get("container") or {}
    return [
        ("CPU time", human_seconds(c.get("cpu_seconds"))),
        ("CPU user", human_seconds(c.get("cpu_user_seconds"))),
        ("CPU system", human_seconds(c.get("cpu_system_seconds"))),
        ("CPU throttled", human_seconds(c.get("cpu_throttled_seconds"))),
        ("memory peak", human_bytes(c.get("memory_peak_bytes"))),
        ("OOM kills", human_count(c.get("oom_kills"))),
        ("block I/O read", human_bytes(c.get("io_read_bytes"))),
        ("block I/O written", human_bytes(c.get("io_write_bytes"))),
        ("network received", human_bytes(c.get("network_receive_bytes"))),
        ("network sent", human_bytes(c.get("network_transmit_bytes"))),
        ("processes (max)", human_count(c.get("processes_max"))),
    ]


def cpu_mode_rows(summary: dict) -> list[tuple[str, object]]:
    modes = (summary.get("host") or {}).get("cpu_mode_percent") or {}
    return [
        (mode, human_percent(modes.get(mode))) for mode in catalog.CPU_MODES_PARTITION
    ]


def task_summary_html(task: Task) -> str:
    summary = task.run.summary
    parts = [
        kv_table("Run", run_rows(task.run.meta, summary)),
        kv_table("Container (the run's cgroup)", container_rows(summary)),
        kv_table("Host CPU time by mode", cpu_mode_rows(summary)),
    ]
    note = ""
    if task.run.summary_recomputed:
        note = (
            '<p class="note">The profiler did not finish this run: the summary '
            "was computed from the samples that were written.</p>"
        )
    return f'{note}<div class="tables">{"".join(parts)}</div>'


def _cell(key: str, value, formatter) -> str:
    raw = "" if value is None else str(value)
    text = "n/a" if value is None and formatter is not str else formatter(value)
    if formatter is not str:
        css = ' class="num"'
    elif key == "cmdline":
        css = ' class="cmd"'
    else:
        css = ""
    return f'<td{css} data-v="{escape(raw)}">{escape(str(text))}</td>'


def process_table(tasks: list[Task]) -> str:
    """Return the sortable table of every process of every task."""
    several = len(tasks) > 1
    heads = [("stage", "stage")] if several else []
    heads += [(key, heading) for key, heading, _ in PROCESS_COLUMNS]
    head = "".join(
        f'<th data-key="{key}">{escape(heading)}</th>' for key, heading in heads
    )
    rows = []
    left_out = 0
    for task in tasks:
        entries = process_totals(task.run.raw_samples)
        left_out += max(len(entries) - MAX_PROCESS_ROWS, 0)
        for entry in entries[:MAX_PROCESS_ROWS]:
            cells = [_cell("stage", task.name, str)] if several else []
            cells += [_cell(k, entry.get(k), f) for k, _, f in PROCESS_COLUMNS]
            rows.append(f"<tr>{''.join(cells)}</tr>")
    note = ""
    if left_out:
        note = (
            f'<p class="note">{left_out:,} processes that used less CPU are left '
            f"out: the table lists the {MAX_PROCESS_ROWS:,} busiest of each "
            "run or stage. <code>ctprof export</code> writes every one.</p>"
        )
    return (
        f'{note}<table class="sortable" id="processes"><thead><tr>{head}</tr>'
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
    )


def downsample_note(data: dict) -> str:
    if not data["downsampled"]:
        return ""
    return (
        f'<p class="note" id="downsampled">This run has {data["samples"]:,} samples. '
        f"The charts show {data['points']:,} points per series: the samples are cut "
        f"into {BUCKETS} buckets and each bucket keeps its minimum and maximum, so "
        "peaks survive. Stacked CPU-mode areas show each bucket's mean instead, "
        "so the modes still add up to 100 %. The tables and exports use every "
        "sample.</p>"
    )


def build_page(directory: str) -> str:
    """Return the complete HTML text of the report of a run or pipeline."""
    meta = read_meta(directory)
    tasks = load_tasks(directory)
    data = chart_data(timeline(directory, TOP_PROCESSES, tasks), tasks)
    name = str(meta.get("name") or directory)
    summaries = "".join(
        (f"<h3>{escape(t.name)}</h3>" if len(tasks) > 1 else "") + task_summary_html(t)
        for t in tasks
    )
    kind = "pipeline" if is_pipeline(meta) else "run"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">
<title>ctprof: {escape(name)}</title>
<style>{STYLE}</style>
<script>{get_plotlyjs()}</script>
</head><body>
<h1>ctprof report: {escape(name)}</h1>
<p>{escape(kind)} directory {escape(directory)}, written by ctprof {__version__}.</p>
{downsample_note(data)}
<h2>Summary</h2>
{summaries}
<div id="charts"></div>
<h2>Any recorded series</h2>
<p>Counters are shown as rates per second, gauges as recorded.</p>
<select id="picker" aria-label="series"></select>
<p id="picked-description"></p>
<div id="picked" class="chart"></div>
<h2>Processes</h2>
<p>Click a heading to sort.</p>
{process_table(tasks)}
<script type="application/json" id="ctprof-data">{script_json(data)}</script>
<script>{SCRIPT}</script>
</body></html>
"""
