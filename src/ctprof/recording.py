"""One recording: a target, a sampler and a run directory, from start to summary.

Every front end (``run``, ``attach``, ``docker-run``, pipeline stages) records
through ``Recording`` so that meta.json, samples.jsonl.gz and summary.json are
written the same way. Samples are on disk as they are taken, and ``finish``
guards each of its steps, so a failure late in a run does not lose what was
already recorded.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import shutil
import time

from . import catalog
from .analysis.summary import summarize
from .collect import cgroupfs as cg
from .errors import UsageError
from .sampler import END, START, Sampler, SeriesThread
from .series_group import SeriesGroup
from .static import collect_static
from .store import RunWriter
from .targets.base import Target

log = logging.getLogger(__name__)

_LEVEL_LETTERS = {
    "v": catalog.HOST,
    "h": catalog.HOST,
    "c": catalog.CONTAINER,
    "p": catalog.PROCESS,
}
_LEVEL_NAMES = {
    "host": catalog.HOST,
    "vm": catalog.HOST,
    "container": catalog.CONTAINER,
    "process": catalog.PROCESS,
}


def parse_levels(text: str | None) -> tuple[str, ...]:
    """Parse "host,container,process" or the Container Profiler letters ("vcp")."""
    if text is None or text.strip() == "":
        return catalog.LEVELS
    chosen: set[str] = set()
    items = [t.strip().lower() for t in text.split(",") if t.strip()]
    for item in items:
        if item in _LEVEL_NAMES:
            chosen.add(_LEVEL_NAMES[item])
        elif all(ch in _LEVEL_LETTERS for ch in item):
            chosen.update(_LEVEL_LETTERS[ch] for ch in item)
        else:
            bad = item
            if len(item) <= 3 and not any(
                name.startswith(item) for name in _LEVEL_NAMES
            ):
                bad = next(ch for ch in item if ch not in _LEVEL_LETTERS)
            raise UsageError(
                f"invalid level {bad!r} in --levels {text!r}; use host, container, "
                "process or the letters v (VM, that is host), c, p, e.g. -l vcp"
            )
    return tuple(level for level in catalog.LEVELS if level in chosen)


def parse_interval(value: str | float | None) -> float:
    """Return the interval in seconds; 0 means delta mode."""
    if value is None:
        return 0.0
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise UsageError(
            f"invalid --interval {value!r}: give seconds as a number, e.g. -i 0.5"
        ) from None
    if seconds != seconds or seconds < 0 or seconds == float("inf"):
        raise UsageError(
            f"invalid --interval {value!r}: give a number of seconds ≥ 0.01, or 0 for delta mode"
        )
    if 0 < seconds < 0.01:
        raise UsageError(
            f"--interval {value} is below the minimum of 0.01 s; use 0.01 or more, or 0 for delta mode"
        )
    return seconds


def default_output(label: str) -> str:
    """Create and return a new directory ./ctprof-runs/<UTC time>-<label>.

    The directory is created here with mkdir, which fails when it exists, so
    two runs started in the same second get distinct directories ("-2", ...).
    """
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", os.path.basename(label))[:40] or "run"
    base = os.path.join("ctprof-runs", f"{stamp}-{safe}")
    try:
        os.makedirs("ctprof-runs", exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"cannot create ctprof-runs in {os.getcwd()}: {exc.strerror}; "
            "give an output directory with -o"
        ) from None
    for attempt in range(1, 1000):
        path = base if attempt == 1 else f"{base}-{attempt}"
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            continue
        except OSError as exc:
            raise UsageError(
                f"cannot create {path}: {exc.strerror}; give an output directory with -o"
            ) from None
    raise UsageError(f"too many runs named {base}; give an output directory with -o")


# Files a run directory may contain; --force removes them before a new run.
RUN_FILES = (
    "meta.json",
    "samples.jsonl",
    "samples.jsonl.gz",
    "summary.json",
    "marks.jsonl",
)


def _is_run_dir(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "meta.json"))


def clear_run(path: str) -> None:
    """Remove the files of an earlier run from ``path`` (for --force).

    Only ctprof's own files go: the run files, and sub-directories that are
    run directories themselves (pipeline stages, per-container runs). Other
    files stay.
    """
    for name in RUN_FILES:
        try:
            os.unlink(os.path.join(path, name))
        except FileNotFoundError:
            pass
    for entry in os.scandir(path):
        if not entry.is_dir(follow_symlinks=False):
            continue
        children = [c.path for c in os.scandir(entry.path) if c.is_dir()]
        if _is_run_dir(entry.path):
            shutil.rmtree(entry.path)
        elif children and all(_is_run_dir(c) for c in children):
            shutil.rmtree(entry.path)  # e.g. containers/ of attach --all


def prepare_output(path: str, force: bool) -> str:
    """Create the run directory; an existing non-empty one needs ``force``,
    which removes the earlier run's files from it."""
    if os.path.exists(path):
        if not os.path.isdir(path):
            raise UsageError(
                f"output {path} exists and is not a directory; choose another -o"
            )
        if os.listdir(path):
            if not force:
                raise UsageError(
                    f"output directory {path} is not empty; "
                    "choose another -o or add --force"
                )
            try:
                clear_run(path)
            except OSError as exc:
                raise UsageError(
                    f"cannot clear output directory {path}: {exc}; choose another -o"
                ) from None
    try:
        os.makedirs(path, exist_ok=True)
        probe = os.path.join(path, ".ctprof-write-test")
        with open(probe, "w") as f:
            f.write("")
        os.unlink(probe)
    except OSError as exc:
        raise UsageError(
            f"cannot write to output directory {path}: {exc.strerror}; choose another -o"
        ) from None
    return path


def iso(wall: float | None) -> str | None:
    if wall is None:
        return None
    return dt.datetime.fromtimestamp(wall, dt.timezone.utc).isoformat(
        timespec="milliseconds"
    )


def layout_facts(layout: cg.Layout) -> dict:
    return {
        "kind": layout.kind,
        "mounts": [
            {
                "mountpoint": m.mountpoint,
                "root": m.root,
                "version": m.version,
                "controllers": sorted(m.controllers),
            }
            for m in layout.mounts
        ],
    }


class Recording:
    """Writes one run directory for one target."""

    def __init__(
        self,
        directory: str,
        target: Target,
        levels: tuple[str, ...],
        interval: float,
        meta: dict,
        layout: cg.Layout | None = None,
        series_group: SeriesGroup | None = None,
    ) -> None:
        self.directory = directory
        # Takes the series samples in a thread shared with other recordings,
        # when given; else the recording starts a SeriesThread of its own.
        self.series_group = series_group
        self.target = target
        self.levels = levels
        self.interval = interval
        self.writer = RunWriter(directory)
        self.sampler = Sampler(target, levels, self.writer, interval)
        self.series: SeriesThread | None = None
        self._ended = False
        # Container counters of the start sample, to find any that the end
        # sample lacks.
        self._start_counters: list[str] = []
        self.meta = dict(meta)
        self.meta.update(
            {
                "status": "running",
                "levels": list(levels),
                "interval_seconds": interval,
                "mode": "time-series" if interval > 0 else "delta",
                "process_columns": list(catalog.PROCESS_COLUMNS),
            }
        )
        if self.sampler.process is not None:
            # "native" (ctprof._procread) or "python": which code read the rows.
            self.meta["process_reader"] = self.sampler.process.reader
        try:
            self.meta["static"] = collect_static()
        except OSError as exc:
            log.warning("static facts unreadable: %s", exc)
            self.meta["static"] = {}
        if layout is not None:
            self.meta["cgroup_layout"] = layout_facts(layout)
        self.meta["target"] = target.describe()
        self.writer.write_meta(self.meta)

    def start(self) -> None:
        """Take the start sample (before the workload starts, for commands)."""
        sample = self.sampler.take(START)
        self._start_counters = _container_counters(sample)
        self.meta["start"] = iso(self.sampler.first_wall)
        self.writer.write_meta(self.meta)

    def start_series(self) -> None:
        if self.interval <= 0:
            return
        if self.series_group is not None:
            self.series_group.add(self.sampler)
            return
        self.series = SeriesThread(self.sampler)
        self.series.start()

    def stop_series(self) -> None:
        if self.series_group is not None:
            self.series_group.remove(self.sampler)
        if self.series is not None:
            self.series.stop()
            self.series = None

    @property
    def ended(self) -> bool:
        """True once the end sample was taken."""
        return self._ended

    def take_end(self) -> None:
        """Stop the series and take the end sample (once)."""
        if self._ended:
            return
        self._ended = True
        self.stop_series()
        try:
            sample = self.sampler.take(END)
        except Exception as exc:  # noqa: BLE001 - still write meta and summary
            log.error("end sample failed: %s", exc)
            return
        present = _container_counters(sample)
        missing = [name for name in self._start_counters if name not in present]
        if missing:
            # The totals of these counters stop at the last sample that has
            # them, which in delta mode is the start sample.
            self.meta["end_sample_incomplete"] = {
                "missing": missing,
                "reason": self.target.missing_counters_reason(),
            }
            log.warning(
                "the end sample lacks the container counters %s: %s",
                ", ".join(missing),
                self.meta["end_sample_incomplete"]["reason"],
            )

    def finish(self, exit_code: int | None, extra: dict | None = None) -> dict:
        """Take the end sample if not yet taken, then write meta.json and
        summary.json. A failure in one step still lets the others run."""
        self.take_end()
        self.writer.close()
        self.meta.update(extra or {})
        self.meta.update(
            {
                "status": "complete",
                "exit_code": exit_code,
                "end": iso(self.sampler.last_wall),
                "samples": self.sampler.seq,
                "missed_deadlines": self.sampler.missed,
                "unavailable": self.sampler.unavailable(),
                "collector_errors": self.sampler.errors(),
                "target": {**self.meta.get("target", {}), **self.target.describe()},
            }
        )
        self.writer.write_meta(self.meta)
        from .store import iter_samples

        summary = summarize(self.meta, list(iter_samples(self.directory)))
        self.writer.write_summary(summary)
        return summary


def _container_counters(sample: dict) -> list[str]:
    """Return the names of the unlabelled container counters in a sample."""
    values = sample.get(catalog.CONTAINER)
    if not isinstance(values, dict):
        return []
    return [
        m.name
        for m in catalog.by_level(catalog.CONTAINER)
        if m.is_counter and m.group is None and m.name in values
    ]


def now_wall() -> float:
    return time.time()
