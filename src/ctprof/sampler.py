"""The sampler: owns time. Takes samples of the chosen levels on a schedule.

Time series deadlines are drift-free: deadline k = t0 + k × interval on the
monotonic clock. When a sample ends past one or more later deadlines, those
deadlines are skipped and counted in ``missed``, never taken in a burst.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time

from . import catalog
from .collectors import ContainerCollector, HostCollector
from .process_collector import ProcessCollector
from .store import RunWriter
from .targets.base import Target

log = logging.getLogger(__name__)

START = "start"
SERIES = "sample"
END = "end"

MIN_INTERVAL = 0.01

# The series thread runs under SCHED_RR while its samples take less than this
# share of the interval on average. Above it, the thread returns to the normal
# policy, so that slow samples do not keep a core from other work for long.
# Below half of this share, SCHED_RR resumes.
REALTIME_MAX_SHARE = 0.25
# Weight of the newest sample in that average (an exponential moving average).
REALTIME_SMOOTHING = 0.2


class Sampler:
    """Collects one sample of every requested level and hands it to the writer."""

    def __init__(
        self,
        target: Target,
        levels: tuple[str, ...],
        writer: RunWriter,
        interval: float = 0.0,
        proc_root: str = "/proc",
    ) -> None:
        self.target = target
        self.levels = levels
        self.writer = writer
        self.interval = interval
        self.host = HostCollector(proc_root) if catalog.HOST in levels else None
        self.container = (
            ContainerCollector(target.reader, proc_root)
            if catalog.CONTAINER in levels
            else None
        )
        self.process = (
            ProcessCollector(proc_root) if catalog.PROCESS in levels else None
        )
        self.seq = 0
        self.missed = 0
        self.t0: float | None = None
        self.first_wall: float | None = None
        self.last_wall: float | None = None
        self._errors: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, kind: str, lag: float | None = None) -> dict:
        """Take one sample now, write it, and return it."""
        with self._lock:
            return self._take(kind, lag)

    def _take(self, kind: str, lag: float | None) -> dict:
        wall = time.time()
        mono = time.monotonic()
        if self.t0 is None:
            self.t0 = mono
            self.first_wall = wall
        self.last_wall = wall
        sample: dict = {
            "seq": self.seq,
            "kind": kind,
            "t": round(wall, 6),
            "mono": round(mono, 6),
        }
        if lag is not None:
            sample["lag"] = round(lag, 6)
        cost: dict[str, float] = {}
        if self.host is not None:
            c0 = time.perf_counter()
            sample[catalog.HOST] = self._guard(catalog.HOST, self.host.collect)
            cost[catalog.HOST] = time.perf_counter() - c0
        pids: list[int] | None = None
        if self.container is not None:
            c0 = time.perf_counter()
            pids = self._guard("pids", self.target.pids)
            sample[catalog.CONTAINER] = self._guard(
                catalog.CONTAINER,
                lambda: self.container.collect(self.target.netns_pid(), pids),
            )
            cost[catalog.CONTAINER] = time.perf_counter() - c0
        if self.process is not None:
            c0 = time.perf_counter()
            if pids is None:
                pids = self._guard("pids", self.target.pids)
            result = self._guard(
                catalog.PROCESS, lambda: self.process.collect(pids or [])
            )
            rows, new = result if result else ([], [])
            sample["processes"] = rows
            if new:
                sample["new_processes"] = new
            cost[catalog.PROCESS] = time.perf_counter() - c0
        sample["cost"] = {k: round(v, 7) for k, v in cost.items()}
        self.writer.write_sample(sample)
        self.seq += 1
        return sample

    def _guard(self, what: str, func):
        """Run one collector; a failure is logged once per kind and the
        sample carries no data for that level instead of ending the run."""
        try:
            return func()
        except Exception as exc:  # noqa: BLE001 - the run must go on
            count = self._errors.get(what, 0)
            self._errors[what] = count + 1
            if count == 0:
                log.warning(
                    "collecting %s failed: %s: %s", what, type(exc).__name__, exc
                )
            return None

    def run_series(self, stop: threading.Event) -> None:
        """Take samples on the schedule until ``stop`` is set."""
        if self.interval <= 0:
            stop.wait()
            return
        if self.t0 is None:
            self.take(START)
        assert self.t0 is not None
        t0 = self.t0
        k = 1
        policy = _RealtimePolicy(self.interval)
        while True:
            deadline = t0 + k * self.interval
            wait = deadline - time.monotonic()
            if wait > 0 and stop.wait(wait):
                return
            if stop.is_set():
                return
            started = time.monotonic()
            self.take(SERIES, lag=started - deadline)
            policy.update(time.monotonic() - started)
            next_k = math.floor((time.monotonic() - t0) / self.interval) + 1
            if next_k > k + 1:
                self.missed += next_k - (k + 1)
            k = max(next_k, k + 1)

    def unavailable(self) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for level, collector in (
            (catalog.HOST, self.host),
            (catalog.CONTAINER, self.container),
            (catalog.PROCESS, self.process),
        ):
            if collector is not None and collector.unavailable:
                out[level] = dict(sorted(collector.unavailable.items()))
        return out

    def errors(self) -> dict[str, int]:
        return dict(self._errors)


class _RealtimePolicy:
    """SCHED_RR for the calling series thread while its samples stay short."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.allowed = _set_realtime(True)
        self.active = self.allowed
        # Moving average of a sample's share of the interval.
        self.load: float | None = None

    def update(self, seconds: float) -> None:
        share = seconds / self.interval
        if self.load is None:
            self.load = share
        else:
            self.load += REALTIME_SMOOTHING * (share - self.load)
        if self.active and self.load > REALTIME_MAX_SHARE:
            self.active = _set_realtime(False)
            log.info(
                "samples take %.0f%% of the %g s interval, more than %.0f%%; "
                "sampling under the normal scheduling policy",
                self.load * 100,
                self.interval,
                REALTIME_MAX_SHARE * 100,
            )
        elif self.allowed and not self.active and self.load < REALTIME_MAX_SHARE / 2:
            self.active = _set_realtime(True)
            log.info("samples got shorter; sampling under SCHED_RR again")


def _set_realtime(enable: bool) -> bool:
    """Switch the calling thread to SCHED_RR priority 1 or back to SCHED_OTHER;
    return whether it now runs under SCHED_RR.

    A woken SCHED_RR thread preempts normal threads at once, so sample times
    stay within a fraction of a millisecond of their deadlines when every
    core is busy. It needs CAP_SYS_NICE (root); without it sampling runs
    under the normal policy. SCHED_RESET_ON_FORK keeps the policy from
    passing to any child.
    """
    tid = threading.get_native_id()
    try:
        if enable:
            policy = os.SCHED_RR | os.SCHED_RESET_ON_FORK
            os.sched_setscheduler(tid, policy, os.sched_param(1))
        else:
            os.sched_setscheduler(tid, os.SCHED_OTHER, os.sched_param(0))
    except (AttributeError, OSError) as exc:
        if enable:
            log.debug("sampling under the normal scheduling policy: %s", exc)
        return False
    return enable


class SeriesThread:
    """Runs Sampler.run_series in a background thread."""

    def __init__(self, sampler: Sampler) -> None:
        self.sampler = sampler
        self.stop_event = threading.Event()
        self.thread = threading.Thread(
            target=sampler.run_series,
            args=(self.stop_event,),
            name="ctprof-sampler",
            daemon=True,
        )

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join()
