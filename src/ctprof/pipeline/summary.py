"""The pipeline's summary.json: one entry per stage that ran, and a total.

Layout::

    {"kind": "pipeline", "name": ..., "exit_code": 0,
     "failed_stage": "align",          # only when a stage stopped the pipeline
     "unfinished_stage": "align",      # recomputed only: the profiler stopped
                                       # during this stage
     "stages": [                       # in run order
        {"number": 1, "name": "download", "kind": "command",
         "directory": "01-download",   # relative to the pipeline directory
         "exit_code": 0,
         "start": ISO time, "end": ISO time,
         "start_time_seconds": wall, "end_time_seconds": wall,
         "start_mono": monotonic, "end_mono": monotonic,
         ... every key of the stage's own summary.json (elapsed_seconds,
         container{...}, host{cpu_mode_percent{...}}, processes, ...)},
        ...],
     "total": {...},
     "skipped_stages": [...],          # before --from-stage
     "not_run_stages": [...]}          # after the stage that stopped the pipeline

A stage's start and end are its first and last samples, which ctprof takes
just before the stage's command starts and just after it exits.
"""

from __future__ import annotations

import logging
import os

from .. import catalog, store
from ..analysis.summary import TOP_PROCESSES
from ..recording import iso

log = logging.getLogger(__name__)

# Value of "kind" in a pipeline's meta.json and summary.json.
KIND = "pipeline"

# Container-level keys of a run summary that add up over stages.
SUMMED_KEYS = (
    "cpu_seconds",
    "cpu_user_seconds",
    "cpu_system_seconds",
    "io_read_bytes",
    "io_write_bytes",
    "network_receive_bytes",
    "network_transmit_bytes",
    "oom_kills",
    "cpu_throttled_seconds",
)
# Container-level keys whose pipeline value is the maximum over stages.
MAX_KEYS = ("memory_peak_bytes", "processes_max")


def stage_bounds(run_dir: str) -> dict:
    """Return the wall and monotonic times of the first and last sample of a run."""
    first = last = None
    for sample in store.iter_samples(run_dir):
        if first is None:
            first = sample
        last = sample
    if first is None or last is None:
        return {
            "start": None,
            "end": None,
            "start_time_seconds": None,
            "end_time_seconds": None,
            "start_mono": None,
            "end_mono": None,
        }
    return {
        "start": iso(first["t"]),
        "end": iso(last["t"]),
        "start_time_seconds": first["t"],
        "end_time_seconds": last["t"],
        "start_mono": first["mono"],
        "end_mono": last["mono"],
    }


def stage_entry(stage: dict, run_dir: str, run_summary: dict) -> dict:
    """Return the summary entry of a stage that ran into ``run_dir``.

    ``stage`` is the stage's item of the pipeline's meta.json "stages".
    """
    entry = {
        "number": stage["number"],
        "name": stage["name"],
        "kind": stage["kind"],
        "directory": stage["directory"],
        "exit_code": run_summary.get("exit_code"),
        **stage_bounds(run_dir),
    }
    for key, value in run_summary.items():
        entry.setdefault(key, value)
    return entry


def stage_error_entry(stage: dict, exit_code: int, error: str) -> dict:
    """Return the summary entry of a stage whose command or container never started."""
    return {
        "number": stage["number"],
        "name": stage["name"],
        "kind": stage["kind"],
        "directory": None,
        "exit_code": exit_code,
        "error": error,
        "start": None,
        "end": None,
        "elapsed_seconds": None,
        "container": {},
        "host": {"cpu_mode_percent": {m: None for m in catalog.CPU_MODES_PARTITION}},
        "processes": [],
    }


def _sum_or_none(values: list) -> float | None:
    """Sum the values, or None when any stage could not read the metric."""
    if not values or any(v is None for v in values):
        return None
    return sum(values)


def _max_or_none(values: list) -> float | None:
    if not values or any(v is None for v in values):
        return None
    return max(values)


def _host_mode_seconds(entry: dict, mode: str) -> float | None:
    column = catalog.column_name(catalog.HOST, catalog.host_cpu_mode_metric(mode))
    item = (entry.get("metrics") or {}).get(column)
    return None if item is None else item.get("delta")


def total_cpu_mode_percent(entries: list[dict]) -> dict[str, float | None]:
    """Return the host CPU-mode percentages over all stages together.

    The stages' mode seconds are added before dividing, so a long stage weighs
    more than a short one, as if the pipeline were one run without the gaps.
    """
    seconds = {
        mode: _sum_or_none([_host_mode_seconds(e, mode) for e in entries])
        for mode in catalog.CPU_MODES_PARTITION
    }
    present = [v for v in seconds.values() if v is not None]
    total = sum(present)
    if not present or total <= 0:
        return {mode: None for mode in seconds}
    return {
        mode: None if v is None else round(100.0 * v / total, 3)
        for mode, v in seconds.items()
    }


def _shared_descriptions(entries: list[dict]) -> dict[str, str]:
    """Return the text values of "container" (such as io_source, where I/O was
    counted) that every stage has with the same value."""
    if not entries:
        return {}
    first = entries[0]["container"]
    shared = {}
    for key, value in first.items():
        if not isinstance(value, str):
            continue
        if all(e["container"].get(key) == value for e in entries):
            shared[key] = value
    return shared


def _top_processes(entries: list[dict]) -> list[dict]:
    rows = []
    for entry in entries:
        for process in entry.get("processes") or []:
            rows.append({"stage": entry["name"], **process})
    rows.sort(key=lambda p: p.get("cpu_seconds") or 0, reverse=True)
    return rows[:TOP_PROCESSES]


def total_entry(entries: list[dict], exit_code: int | None) -> dict:
    """Return the totals over the stages that ran (a stage that never started is
    left out, because it consumed nothing ctprof could measure)."""
    ran = [e for e in entries if e.get("directory") is not None]
    container: dict = {}
    for key in SUMMED_KEYS:
        container[key] = _sum_or_none([e["container"].get(key) for e in ran])
    for key in MAX_KEYS:
        container[key] = _max_or_none([e["container"].get(key) for e in ran])
    container.update(_shared_descriptions(ran))
    starts = [e["start_mono"] for e in ran if e.get("start_mono") is not None]
    ends = [e["end_mono"] for e in ran if e.get("end_mono") is not None]
    return {
        "name": "total",
        "exit_code": exit_code,
        "stages_run": len(entries),
        # From the first stage's start to the last stage's end, gaps included.
        "elapsed_seconds": round(max(ends) - min(starts), 6)
        if starts and ends
        else None,
        "stage_seconds": _sum_or_none([e.get("elapsed_seconds") for e in ran]),
        "container": container,
        "host": {"cpu_mode_percent": total_cpu_mode_percent(ran)},
        "processes": _top_processes(ran),
    }


def pipeline_summary(
    name: str, planned: list[dict], entries: list[dict], failed: dict | None
) -> dict:
    """Return the pipeline's summary.json from its stage entries.

    ``planned`` is meta.json's "stages": every stage of the file, with "runs"
    false for those before --from-stage.
    """
    exit_code = 0 if failed is None else failed["exit_code"]
    ran = {e["name"] for e in entries}
    summary = {
        "kind": KIND,
        "name": name,
        "exit_code": exit_code,
        "stages": entries,
        "total": total_entry(entries, exit_code),
        "skipped_stages": [s["name"] for s in planned if not s["runs"]],
        "not_run_stages": [
            s["name"] for s in planned if s["runs"] and s["name"] not in ran
        ],
    }
    if failed is not None:
        summary["failed_stage"] = failed["name"]
    # A stage without an exit status (its profiler stopped) did not fail.
    tolerated = [
        e["name"]
        for e in entries
        if e["exit_code"] not in (0, None) and e is not failed
    ]
    if tolerated:
        summary["tolerated_failures"] = tolerated
    return summary


def rebuild_summary(directory: str, meta: dict) -> dict:
    """Recompute summary.json of a pipeline whose profiler did not finish.

    Each stage directory that exists is loaded (its own summary recomputed
    from samples when missing). The stage that was running when the profiler
    stopped has exit_code None: it is the "unfinished_stage", not a failed
    one. The pipeline's exit_code is None when it did not finish: a stage is
    unfinished, or stages were not run although none failed.
    """
    from ..api import load

    entries = []
    failed = None
    unfinished = None
    for planned in meta.get("stages") or []:
        run_dir = os.path.join(directory, planned["directory"])
        if not planned.get("runs") or not store.is_run_dir(run_dir):
            continue
        run = load(run_dir)
        entry = stage_entry(planned, run_dir, run.summary)
        entries.append(entry)
        if entry["exit_code"] is None:
            # The profiler stopped while this stage ran, so the stage has no
            # exit status, and no record shows that it failed.
            unfinished = entry
            break
        if entry["exit_code"] != 0 and not planned.get("continue_on_error"):
            failed = entry
            break
    summary = pipeline_summary(
        str(meta.get("name") or os.path.basename(os.path.abspath(directory))),
        meta.get("stages") or [],
        entries,
        failed,
    )
    summary["status"] = "recomputed"
    if unfinished is not None:
        summary["unfinished_stage"] = unfinished["name"]
    if unfinished is not None or (failed is None and summary["not_run_stages"]):
        # A pipeline that did not finish has no exit status.
        summary["exit_code"] = None
        summary["total"]["exit_code"] = None
    return summary


def stage_run_directory(pipeline_dir: str, entry: dict) -> str | None:
    """Return the path of a stage's run directory, or None when it never started."""
    if entry.get("directory") is None:
        return None
    return os.path.join(pipeline_dir, entry["directory"])


def load_pipeline_summary(directory: str, meta: dict) -> dict:
    """Return a pipeline's summary.json, recomputed when it is missing."""
    summary = store.read_summary(directory)
    if summary is None or "stages" not in summary:
        summary = rebuild_summary(directory, meta)
    return summary
