"""The containers table of an ``attach --all`` run, one row per container."""

from __future__ import annotations

import os

from rich.table import Table

from .. import store
from ..analysis.summary import summarize
from .report import _console
from .units import human_bytes, human_seconds


def _container_summary(directory: str) -> dict | None:
    summary = store.read_summary(directory)
    if summary is not None:
        return summary
    try:
        meta = store.read_meta(directory)
    except Exception:  # noqa: BLE001 - shown as a row without figures
        return None
    return summarize(meta, list(store.iter_samples(directory)))


def containers_table(run_dir: str, entries: list[dict]) -> Table:
    t = Table(title="Containers (each in containers/NAME-ID)", title_justify="left")
    t.add_column("name", no_wrap=True)
    t.add_column("id", no_wrap=True)
    for name in ("elapsed", "CPU", "memory peak", "net received", "net sent"):
        t.add_column(name, justify="right")
    t.add_column("ended by")
    t.add_column("exit", justify="right")
    for entry in entries:
        summary = _container_summary(os.path.join(run_dir, entry["directory"])) or {}
        c = summary.get("container", {})
        t.add_row(
            str(entry.get("name")),
            str(entry.get("id", ""))[:12],
            human_seconds(summary.get("elapsed_seconds")),
            human_seconds(c.get("cpu_seconds")),
            human_bytes(c.get("memory_peak_bytes")),
            human_bytes(c.get("network_receive_bytes")),
            human_bytes(c.get("network_transmit_bytes")),
            str(entry.get("ended_by") or "still running"),
            str(entry.get("exit_code")),
        )
    return t


def print_containers(run_dir: str, entries: list[dict]) -> None:
    _console().print(containers_table(run_dir, entries))
