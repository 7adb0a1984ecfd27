"""Python API: ``ctprof.load(RUN_DIR)``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import catalog, store
from .analysis.summary import summarize

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class Run:
    """A run directory loaded into memory."""

    directory: str
    meta: dict
    summary: dict
    raw_samples: list[dict] = field(repr=False)
    # True when summary.json was missing (profiler killed) and was computed.
    summary_recomputed: bool = False

    @property
    def samples(self) -> pd.DataFrame:
        """One row per sample; columns ``time``, ``elapsed_seconds``, ``kind``,
        ``seq``, ``cost.<level>`` and one per metric (catalog.column_name)."""
        return samples_frame(self.raw_samples)

    @property
    def processes(self) -> pd.DataFrame:
        """One row per process per sample (catalog.PROCESS_COLUMNS)."""
        return processes_frame(self.raw_samples)


def flatten_sample(sample: dict, t0: float | None) -> dict:
    row: dict = {
        "time": sample["t"],
        "elapsed_seconds": None if t0 is None else round(sample["mono"] - t0, 6),
        "seq": sample["seq"],
        "kind": sample["kind"],
    }
    for level, value in (sample.get("cost") or {}).items():
        row[f"cost.{level}"] = value
    for level in (catalog.HOST, catalog.CONTAINER):
        data = sample.get(level)
        if not isinstance(data, dict):
            continue
        for key, value in data.items():
            if isinstance(value, dict):
                for label, fields in value.items():
                    for name, v in fields.items():
                        row[catalog.column_name(level, name, label)] = v
            else:
                row[catalog.column_name(level, key)] = value
    return row


def samples_frame(samples: list[dict]) -> pd.DataFrame:
    import pandas as pd

    t0 = samples[0]["mono"] if samples else None
    return pd.DataFrame([flatten_sample(s, t0) for s in samples])


def processes_frame(samples: list[dict]) -> pd.DataFrame:
    import pandas as pd

    cmdlines: dict[tuple, str] = {}
    rows = []
    t0 = samples[0]["mono"] if samples else None
    for s in samples:
        for item in s.get("new_processes", ()):
            cmdlines[(item["pid"], item["start_time_seconds"])] = item["cmdline"]
        elapsed = None if t0 is None else round(s["mono"] - t0, 6)
        for r in s.get("processes") or ():
            rows.append([s["t"], elapsed, s["seq"], *r])
    columns = ["time", "elapsed_seconds", "seq", *catalog.PROCESS_COLUMNS]
    frame = pd.DataFrame(rows, columns=columns)
    frame["cmdline"] = [
        cmdlines.get((p, st), "")
        for p, st in zip(frame["pid"], frame["start_time_seconds"])
    ]
    return frame


def load(directory: str) -> Run:
    """Load a run directory; a run whose profiler was killed loads too."""
    meta = store.read_meta(directory)
    samples = list(store.iter_samples(directory))
    summary = store.read_summary(directory)
    recomputed = summary is None
    if summary is None:
        summary = summarize(meta, samples)
    return Run(directory, meta, summary, samples, recomputed)
