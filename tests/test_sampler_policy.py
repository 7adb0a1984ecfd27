"""The series thread's scheduling policy: SCHED_RR while samples stay short."""

from __future__ import annotations

import os
import threading
import time

from ctprof import catalog
from ctprof import sampler as sampler_module
from ctprof.sampler import Sampler, SeriesThread
from ctprof.store import RunWriter
from ctprof.targets.base import Target

from conftest import needs_root


def _policies(tmp_path, interval: float, extra_seconds: float) -> list[int]:
    """Run a host-only series for a moment; return the policy of each take."""
    sampler = Sampler(Target(), (catalog.HOST,), RunWriter(str(tmp_path)), interval)
    policies: list[int] = []
    take = sampler.take

    def observed_take(kind, lag=None):
        policy = os.sched_getscheduler(threading.get_native_id())
        policies.append(policy & ~os.SCHED_RESET_ON_FORK)
        sample = take(kind, lag)
        time.sleep(extra_seconds)
        return sample

    sampler.take = observed_take  # type: ignore[method-assign]
    series = SeriesThread(sampler)
    series.start()
    time.sleep(0.5)
    series.stop()
    return policies


def test_series_samples_under_sched_rr(tmp_path):
    needs_root()
    policies = _policies(tmp_path, 0.05, 0.0)
    assert len(policies) >= 5
    assert policies[0] == os.SCHED_OTHER  # the start sample, before the series
    assert set(policies[1:]) == {os.SCHED_RR}


def test_slow_samples_return_to_normal_policy(tmp_path):
    needs_root()
    # Each sample takes 40 % of the interval, above the 25 % limit.
    policies = _policies(tmp_path, 0.05, 0.02)
    assert policies[1] == os.SCHED_RR
    assert set(policies[2:]) == {os.SCHED_OTHER}


def test_policy_follows_average_sample_share():
    states: list[tuple[bool, bool]] = []

    def exercise() -> None:
        # In a thread of its own, because the policy changes the calling thread.
        policy = sampler_module._RealtimePolicy(0.1)
        states.append((policy.allowed, policy.active))
        policy.update(0.001)
        policy.update(0.02)  # one slower sample: the average stays below 0.25
        states.append((policy.allowed, policy.active))
        for _ in range(5):
            policy.update(0.05)
        states.append((policy.allowed, policy.active))
        for _ in range(20):
            policy.update(0.001)
        states.append((policy.allowed, policy.active))

    thread = threading.Thread(target=exercise)
    thread.start()
    thread.join()
    allowed = states[0][0]
    assert [active for _, active in states] == [allowed, allowed, False, allowed]


def test_policy_of_other_threads_is_unchanged(tmp_path):
    needs_root()
    _policies(tmp_path, 0.05, 0.0)
    assert os.sched_getscheduler(0) == os.SCHED_OTHER
