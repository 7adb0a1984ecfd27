"""``ctprof attach --all``: every Docker container, one series each, plus the host.

Run directory layout (each directory is a complete run directory, readable
with ``ctprof report`` and ``ctprof.load``)::

    RUN_DIR/                      the host level; meta.json has kind
                                  "all-containers" and lists the containers
    RUN_DIR/containers/NAME-ID12/ one container: container and process levels

``meta.json`` of RUN_DIR lists under ``containers`` each container's id, name,
image, sub-directory (relative to RUN_DIR), first and last sample times, why
its recording ended and its exit status. A container that stops keeps its
directory, finished with an end sample. Containers running when the command
starts are found by listing the running containers. Those that start later
are found from the engine's start events as they happen, and by the same
listing every ``_DISCOVER_SECONDS`` should the event stream fail.
"""

from __future__ import annotations

import logging
import os
import re
import select
import threading
import time
from dataclasses import dataclass

from . import catalog
from .attach import DURATION, EXITED, INTERRUPTED, container_exit_code
from .collect import cgroupfs as cg
from .recording import Recording, default_output, iso, prepare_output
from .series_group import SeriesGroup
from .targets.base import Target
from .targets.docker import (
    DockerTarget,
    connect,
    container_facts,
    engine_facts,
)
from .targets.pidwatch import ProcessWatch

log = logging.getLogger(__name__)

KIND = "all-containers"
CONTAINERS_DIR = "containers"

# NOTE: a container that exits before ctprof has inspected it after its start
# event (a few ms) is missed.
_DISCOVER_SECONDS = 0.25
# While the start events arrive, the full listing only double-checks them.
# Listing 100 containers four times a second cost more CPU than sampling them.
_RELIST_SECONDS = 5.0


class StartEvents:
    """The engine's container start events, read in a thread.

    Each event writes a byte to a pipe, so a poll on ``fd`` wakes the follow
    loop as soon as a container starts.
    """

    def __init__(self, client) -> None:
        self.fd, self._write_fd = os.pipe()
        os.set_blocking(self.fd, False)
        self._ids: list[str] = []
        self._lock = threading.Lock()
        self._stream = client.events(
            decode=True, filters={"type": "container", "event": "start"}
        )
        self._thread = threading.Thread(
            target=self._read, name="ctprof-docker-events", daemon=True
        )
        self._thread.start()

    def _read(self) -> None:
        try:
            for event in self._stream:
                container_id = event.get("id") or event.get("Actor", {}).get("ID")
                if container_id:
                    with self._lock:
                        self._ids.append(container_id)
                    os.write(self._write_fd, b"s")
        except Exception as exc:  # noqa: BLE001 - the listing still finds them
            log.info("the Docker event stream ended: %s", exc)

    def following(self) -> bool:
        """Return True while the event stream is read."""
        return self._thread.is_alive()

    def drain(self) -> list[str]:
        """Return the ids of containers started since the last call."""
        try:
            os.read(self.fd, 4096)
        except BlockingIOError:
            pass
        with self._lock:
            ids, self._ids = self._ids, []
        return ids

    def close(self) -> None:
        self._stream.close()
        os.close(self.fd)
        os.close(self._write_fd)


class HostTarget(Target):
    """No cgroup and no processes: the host level of an --all run."""

    kind = KIND

    def pids(self) -> list[int]:
        return []


@dataclass
class AllResult:
    directory: str
    containers: int
    summary: dict


class _Member:
    """One container's recording inside an --all run."""

    def __init__(self, target, recording, watch, entry: dict) -> None:
        self.target = target
        self.recording = recording
        self.watch = watch
        self.entry = entry


def _subdir_name(name: str, container_id: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:60] or "container"
    return f"{safe}-{container_id[:12]}"


class AllContainers:
    """Finds containers, records each one, and ends their recordings."""

    def __init__(
        self, client, directory: str, interval: float, levels: tuple[str, ...]
    ) -> None:
        self.client = client
        self.directory = directory
        self.interval = interval
        self.levels = tuple(lv for lv in levels if lv != catalog.HOST) or (
            catalog.CONTAINER,
        )
        self.layout = cg.detect_layout()
        self.engine = engine_facts(client)
        self.members: dict[str, _Member] = {}
        self.entries: list[dict] = []
        self.started_wall = time.time()
        # One thread takes the series samples of every container.
        self.series = SeriesGroup("ctprof-containers")
        self._listed = float("-inf")
        self.events: StartEvents | None = None
        try:
            self.events = StartEvents(client)
        except Exception as exc:  # noqa: BLE001 - fall back to the listing alone
            log.warning("cannot follow the Docker start events: %s", exc)

    def discover(self) -> bool:
        """Start recording containers not seen before; True when one was added."""
        # Started containers first: a short one may be gone after the listing.
        added = False
        if self.events is not None:
            for container_id in self.events.drain():
                added = self._add_new(container_id) or added
            if (
                self.events.following()
                and time.monotonic() - self._listed < _RELIST_SECONDS
            ):
                return added
        self._listed = time.monotonic()
        try:
            running = self.client.api.containers(filters={"status": "running"})
        except Exception as exc:  # noqa: BLE001 - try again at the next listing
            log.warning("listing containers failed: %s", exc)
            return added
        for summary in running:
            added = self._add_new(summary["Id"]) or added
        return added

    def _add_new(self, container_id: str) -> bool:
        member = self.members.get(container_id)
        if member is not None and member.entry["ended_by"] is None:
            return False
        return self._add(container_id, member)

    def _add(self, container_id: str, previous: _Member | None) -> bool:
        found = self._bind(container_id, previous)
        if found is None:
            return False
        target, pid = found
        facts = target.facts
        sub = os.path.join(CONTAINERS_DIR, _subdir_name(facts["name"], facts["id"]))
        while os.path.exists(os.path.join(self.directory, sub)):
            sub += "+"  # the same container, started again
        meta = {"name": facts["name"], "attached_to": facts["id"], "all_run": ".."}
        recording = Recording(
            os.path.join(self.directory, sub),
            target,
            self.levels,
            self.interval,
            meta,
            self.layout,
            series_group=self.series,
        )
        recording.start()
        recording.start_series()

        entry = {
            "id": facts["id"],
            "name": facts["name"],
            "image": facts["image"],
            "directory": sub,
            "start": recording.meta.get("start"),
            "end": None,
            "ended_by": None,
            "exit_code": None,
        }
        self.members[container_id] = _Member(
            target, recording, ProcessWatch(pid), entry
        )
        self.entries.append(entry)
        log.info("recording container %s (%s)", facts["name"], container_id[:12])
        return True

    def _bind(
        self, container_id: str, previous: _Member | None
    ) -> tuple[DockerTarget, int] | None:
        """Return the target of a running container and its main pid."""
        try:
            attrs = self.client.api.inspect_container(container_id)
        except Exception as exc:  # noqa: BLE001 - removed since the listing
            log.info("container %s vanished: %s", container_id[:12], exc)
            return None
        state = attrs.get("State") or {}
        pid = int(state.get("Pid") or 0)
        if not state.get("Running") or pid <= 0:
            return None
        if previous is not None and previous.watch.pid == pid:
            return None  # exited an instant ago; the engine has not noticed yet
        fresh = _started_after(state.get("StartedAt"), self.started_wall)
        target = DockerTarget(
            container_facts(attrs), self.engine, counters_start_at_zero=fresh
        )
        if not target.bind(pid, self.layout):
            return None
        return target, pid

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` s, waking early when a container exits.

        Return whether ``reap`` may find an exited container: a pidfd became
        readable, or some container can only be checked by polling /proc.
        """
        poller = select.poll()
        if self.events is not None:
            poller.register(self.events.fd, select.POLLIN)
        unwatched = False
        for member in self.active():
            if member.watch.fd is not None:
                poller.register(member.watch.fd, select.POLLIN)
            else:
                unwatched = True
        return bool(poller.poll(int(timeout * 1000))) or unwatched

    def active(self) -> list[_Member]:
        return [m for m in self.members.values() if m.entry["ended_by"] is None]

    def reap(self) -> None:
        """End the recordings of containers whose main process exited."""
        for member in self.active():
            if member.watch.exited():
                self._end(member, EXITED)

    def _end(self, member: _Member, ended_by: str) -> None:
        member.recording.take_end()
        exit_code = None
        if ended_by == EXITED:
            exit_code = container_exit_code(self.client, member.target)
        member.recording.finish(exit_code, {"ended_by": ended_by})
        member.target.close()
        member.watch.close()
        member.entry.update(
            {
                "end": iso(member.recording.sampler.last_wall),
                "ended_by": ended_by,
                "exit_code": exit_code,
            }
        )

    def end_all(self, ended_by: str) -> None:
        """End every recording still going, and stop following start events."""
        for member in self.active():
            self._end(member, ended_by)
        self.series.close()
        if self.events is not None:
            self.events.close()
            self.events = None


def _started_after(started_at: str | None, wall: float) -> bool:
    """True when an engine timestamp (RFC 3339, ns) is later than ``wall``."""
    if not started_at:
        return False
    from datetime import datetime

    # Python before 3.11 parses at most microseconds and no "Z" suffix.
    text = re.sub(r"(\.\d{6})\d+", r"\1", started_at).replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(text).timestamp() > wall
    except ValueError:
        return False


def attach_all(
    interval: float,
    levels: tuple[str, ...],
    output: str | None = None,
    duration: float | None = None,
    name: str | None = None,
    force: bool = False,
) -> AllResult:
    """Record the host and every container until ``duration`` s or Ctrl-C."""
    client = connect()
    directory = prepare_output(
        output or default_output(name or "all-containers"), force
    )
    host_levels = (catalog.HOST,) if catalog.HOST in levels else ()
    host = Recording(
        directory,
        HostTarget(),
        host_levels,
        interval,
        {"name": name or "all-containers", "kind": KIND, "containers": []},
        cg.detect_layout(),
    )
    watcher = AllContainers(client, directory, interval, levels)
    ended_by = INTERRUPTED
    try:
        host.start()
        host.start_series()
        ended_by = _follow(watcher, host, duration)
    finally:
        watcher.end_all(ended_by)
        summary = host.finish(
            None, {"ended_by": ended_by, "containers": watcher.entries}
        )
    return AllResult(directory, len(watcher.entries), summary)


def _follow(watcher: AllContainers, host: Recording, duration: float | None) -> str:
    deadline = None if duration is None else time.monotonic() + duration
    try:
        while True:
            if watcher.discover():
                host.meta["containers"] = watcher.entries
                host.writer.write_meta(host.meta)
            tick = _DISCOVER_SECONDS
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return DURATION
                tick = min(tick, left)
            # Checking 100 containers' pidfds one by one, twice a tick, cost
            # more than waiting on all of them in one poll.
            if watcher.wait(tick):
                watcher.reap()
    except KeyboardInterrupt:
        return INTERRUPTED
