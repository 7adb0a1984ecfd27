"""``ctprof attach TARGET``: record a container, cgroup or process already running.

TARGET is, in this order of precedence:

1. a path starting with "/" or ".": a cgroup directory under a cgroup mount,
   or a cgroup path inside the hierarchies such as /docker/ID;
2. a number that is the pid of a running process: that process's cgroup;
3. anything else: a Docker container name or id, or a unique prefix of one.

Recording stops when the container's main process (or the pid) exits, when
the cgroup is removed, on Ctrl-C, or after ``duration`` seconds. The run
directory is the same as for ``ctprof run``.
"""

from __future__ import annotations

import logging
import os
import time

from .collect import cgroupfs as cg
from .launch import RunResult
from .recording import Recording, default_output, prepare_output
from .targets.base import Target
from .targets.cgroup import CgroupPathTarget, PidTarget
from .targets.docker import (
    DockerError,
    DockerTarget,
    connect,
    container_facts,
    engine_facts,
    find_container,
)
from .targets.pidwatch import ProcessWatch

log = logging.getLogger(__name__)

# How often the follow loop wakes to check the duration and a removed cgroup.
_TICK_SECONDS = 0.1

EXITED = "target-exited"
DURATION = "duration"
INTERRUPTED = "interrupted"


class CgroupWatch:
    """Notices that a cgroup was removed (every one of its directories gone)."""

    def __init__(self, target: CgroupPathTarget) -> None:
        self.target = target

    def wait(self, timeout: float) -> bool:
        if not self.target.exists():
            return True
        time.sleep(timeout)
        return not self.target.exists()

    def close(self) -> None:
        pass


def follow(watch, duration: float | None) -> str:
    """Wait until the target ends, ``duration`` s pass, or Ctrl-C, and return
    which of EXITED, DURATION and INTERRUPTED happened."""
    deadline = None if duration is None else time.monotonic() + duration
    try:
        while True:
            tick = _TICK_SECONDS
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return DURATION
                tick = min(tick, left)
            if watch.wait(tick):
                return EXITED
    except KeyboardInterrupt:
        return INTERRUPTED


def _docker_target(ref: str, layout: cg.Layout):
    client = connect()
    attrs = find_container(client, ref)
    facts = container_facts(attrs)
    state = attrs.get("State") or {}
    if not state.get("Running"):
        raise DockerError(
            f"container {facts['name']} ({facts['id'][:12]}) is not running "
            f"(status {state.get('Status')}); start it first, or profile a new "
            "one with ctprof docker-run"
        )
    target = DockerTarget(facts, engine_facts(client))
    pid = int(state.get("Pid") or 0)
    if not target.bind(pid, layout):
        # Still recorded: the run directory gets its start and end samples,
        # with the container metrics unavailable and the reason in meta.json.
        log.warning(
            "container %s (%s) stopped while ctprof attached to it",
            facts["name"],
            facts["id"][:12],
        )
    return target, facts["name"], ProcessWatch(pid), client


def resolve(ref: str, layout: cg.Layout):
    """Return (target, label, watch, docker client or None) for TARGET."""
    if ref.startswith(("/", ".")):
        target = CgroupPathTarget(layout, ref)
        return (
            target,
            os.path.basename(ref.rstrip("/")) or "cgroup",
            CgroupWatch(target),
            None,
        )
    if ref.isdigit() and os.path.exists(f"/proc/{ref}"):
        pid = int(ref)
        return PidTarget(layout, pid), f"pid{pid}", ProcessWatch(pid), None
    try:
        return _docker_target(ref, layout)
    except DockerError as exc:
        if ref.isdigit():
            raise DockerError(f"no process has pid {ref}, and {exc}") from None
        raise


def container_exit_code(client, target: Target) -> int | None:
    if client is None or not isinstance(target, DockerTarget):
        return None
    try:
        state = client.api.inspect_container(target.facts["id"])["State"]
    except Exception as exc:  # noqa: BLE001 - the exit code is a fact, not vital
        log.warning("cannot read the exit code of the container: %s", exc)
        return None
    if state.get("Running"):
        # The main pid exited an instant ago and the engine has not noticed yet.
        try:
            return int(client.api.wait(target.facts["id"], timeout=10)["StatusCode"])
        except Exception as exc:  # noqa: BLE001
            log.warning("cannot wait for the container's exit code: %s", exc)
            return None
    return state.get("ExitCode")


def attach_target(
    ref: str,
    interval: float,
    levels: tuple[str, ...],
    output: str | None = None,
    duration: float | None = None,
    name: str | None = None,
    force: bool = False,
) -> RunResult:
    """Record TARGET until it ends, ``duration`` s pass, or Ctrl-C."""
    layout = cg.detect_layout()
    target, label, watch, client = resolve(ref, layout)
    try:
        directory = prepare_output(output or default_output(name or label), force)
        meta = {"name": name or label, "attached_to": ref, "duration": duration}
        recording = Recording(directory, target, levels, interval, meta, layout)
        ended_by = INTERRUPTED
        try:
            recording.start()
            recording.start_series()
            ended_by = follow(watch, duration)
            recording.take_end()
        finally:
            exit_code = None
            if ended_by == EXITED:
                exit_code = container_exit_code(client, target)
            summary = recording.finish(exit_code, {"ended_by": ended_by})
    finally:
        watch.close()
        if isinstance(target, DockerTarget):
            target.close()
    return RunResult(0, directory, summary, recording.meta)
