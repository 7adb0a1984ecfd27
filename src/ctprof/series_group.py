"""The time series of many samplers, taken from one thread.

A thread per sampler pays a wake-up, a thread switch and a hand-over of the
GIL for every sample. With 100 idle containers at 1 s, ``attach --all`` with
a thread per container used 11 % of a core, and one thread taking the same
samples 4 % (bench/containers.py and the figures in BENCHMARKS.md).

Samplers of the same interval share one drift-free schedule (deadline k =
t0 + k × interval, with the t0 of the first of them), so one wake-up takes
all their samples back to back: spread over the interval, 100 containers
cost twice the CPU. A sampler added later starts at the next shared deadline,
so its first interval is shorter. Each keeps its own count of missed
deadlines.
"""

from __future__ import annotations

import heapq
import logging
import math
import threading
import time

from .sampler import SERIES, START, Sampler, _RealtimePolicy

log = logging.getLogger(__name__)


class _Member:
    __slots__ = ("sampler", "base", "k")

    def __init__(self, sampler: Sampler, base: float) -> None:
        self.sampler = sampler
        self.base = base
        self.k = math.floor((time.monotonic() - base) / sampler.interval) + 1

    def deadline(self) -> float:
        return self.base + self.k * self.sampler.interval


class SeriesGroup:
    """Takes the series samples of every added sampler in one thread."""

    def __init__(self, name: str = "ctprof-series") -> None:
        self._lock = threading.Lock()  # guards _members, _heap and _closed
        self._taking = threading.Lock()  # held while a sample is taken
        self._changed = threading.Event()
        self._members: dict[int, _Member] = {}
        # (deadline, order of insertion, sampler id); stale entries are skipped.
        self._heap: list[tuple[float, int, int]] = []
        self._pushed = 0
        self._closed = False
        # The shared schedule's t0 per interval.
        self._bases: dict[float, float] = {}
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def add(self, sampler: Sampler) -> None:
        """Start the series of ``sampler``, after its start sample."""
        if sampler.interval <= 0:
            return
        if sampler.t0 is None:
            sampler.take(START)
        assert sampler.t0 is not None
        with self._lock:
            base = self._bases.setdefault(sampler.interval, sampler.t0)
            member = _Member(sampler, base)
            self._members[id(sampler)] = member
            self._push(member)
        self._changed.set()

    def remove(self, sampler: Sampler) -> None:
        """Stop the series of ``sampler``; no sample of it is taken after this
        returns, so its end sample can follow at once."""
        with self._taking, self._lock:
            self._members.pop(id(sampler), None)

    def close(self) -> None:
        """Stop the thread; the samplers still added take no more samples."""
        with self._lock:
            self._closed = True
        self._changed.set()
        self._thread.join()

    def __len__(self) -> int:
        return len(self._members)

    def _push(self, member: _Member) -> None:
        self._pushed += 1
        entry = (member.deadline(), self._pushed, id(member.sampler))
        heapq.heappush(self._heap, entry)

    def _next_due(self) -> tuple[float | None, _Member | None]:
        """Return the seconds until the next deadline (None: no sampler), and
        the member that is due now."""
        with self._lock:
            while self._heap:
                deadline, _, key = self._heap[0]
                member = self._members.get(key)
                if member is None or member.deadline() != deadline:
                    heapq.heappop(self._heap)  # removed, or pushed again
                    continue
                wait = deadline - time.monotonic()
                if wait > 0:
                    return wait, None
                heapq.heappop(self._heap)
                return 0.0, member
            return None, None

    def _run(self) -> None:
        policy: _RealtimePolicy | None = None
        while True:
            with self._lock:
                if self._closed:
                    return
            wait, member = self._next_due()
            if member is None:
                self._changed.wait(wait)
                self._changed.clear()
                continue
            if policy is None:
                policy = _RealtimePolicy(member.sampler.interval)
            started = time.monotonic()
            self._take(member)
            # The share of the interval that one round over every member takes.
            policy.update((time.monotonic() - started) * max(len(self), 1))

    def _take(self, member: _Member) -> None:
        sampler = member.sampler
        with self._taking:
            with self._lock:
                if self._members.get(id(sampler)) is not member:
                    return  # removed while it waited
            deadline = member.deadline()
            try:
                sampler.take(SERIES, lag=time.monotonic() - deadline)
            except Exception as exc:  # noqa: BLE001 - the other samplers go on
                log.error(
                    "sampling %s failed, its series stops: %s: %s",
                    sampler.writer.directory,
                    type(exc).__name__,
                    exc,
                )
                with self._lock:
                    self._members.pop(id(sampler), None)
                return
            next_k = math.floor((time.monotonic() - member.base) / sampler.interval) + 1
            if next_k > member.k + 1:
                sampler.missed += next_k - (member.k + 1)
            member.k = max(next_k, member.k + 1)
            with self._lock:
                if self._members.get(id(sampler)) is member:
                    self._push(member)
