"""``ctprof docker-run``: create a container, profile it from its start to its exit.

The steps follow ``docker run``: create the container with the user's
options, attach to its output, start it, follow it to its exit and return its
exit status. A fresh container's cgroup counters start at zero, so zero is
the baseline of its totals (meta target.counters_start_at_zero). The first
sample is taken when the runtime has created the container's cgroup, before
the command runs. ``--rm`` is carried out by ctprof after the end sample, not
by the engine, so that the exit status and final state can still be read.
With the cgroupfs driver the container gets a cgroup parent created by ctprof
(targets/docker_parent.py), from which the end sample reads the totals when
the runtime has already removed the container's cgroup.
SIGINT and SIGTERM are forwarded to the container, as docker run does, and a
third SIGINT kills it.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time

from .collect import cgroupfs as cg
from .docker_args import RunSpec, parse_run_args
from .launch import RunResult
from .recording import Recording, default_output, prepare_output
from .targets.docker import (
    DockerError,
    DockerTarget,
    connect,
    container_facts,
    engine_facts,
    expected_cgroup_path,
)
from .targets.docker_parent import ContainerParent, ParentSetupError, parent_name
from .targets.pidwatch import ProcessWatch

log = logging.getLogger(__name__)

# Exit statuses docker run uses when the container cannot run its command.
EXIT_ENGINE_ERROR = 125
EXIT_CANNOT_EXECUTE = 126
EXIT_NOT_FOUND = 127

# How often the wait loop wakes to forward signals.
_TICK_SECONDS = 0.1
# How often the container's cgroup is looked for while the engine starts it.
_CGROUP_POLL_SECONDS = 0.001
# The SIGINT that kills the container instead of being forwarded.
_INTERRUPTS_TO_KILL = 3


def _image_not_found(image: str) -> DockerError:
    return DockerError(
        f"image {image!r} is not present locally and ctprof does not "
        f"pull images; run docker pull {image} first"
    )


def _check_image(client, image: str) -> None:
    import docker  # type: ignore[import-untyped]

    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        raise _image_not_found(image) from None
    except docker.errors.APIError as exc:
        raise DockerError(f"invalid image {image!r}: {exc.explanation}") from None


def _create(client, spec: RunSpec):
    import docker  # type: ignore[import-untyped]

    try:
        return client.containers.create(spec.image, spec.command or None, **spec.create)
    except docker.errors.ImageNotFound:
        raise _image_not_found(spec.image) from None
    except docker.errors.APIError as exc:
        raise DockerError(
            f"docker create failed: {exc.explanation or exc}; check the docker run "
            "options"
        ) from None


class _OutputPump:
    """Copies the container's stdout and stderr to ours, as docker run does."""

    def __init__(self, client, container_id: str) -> None:
        self.stream = client.api.attach(
            container_id, stdout=True, stderr=True, stream=True, logs=True, demux=True
        )
        self.thread = threading.Thread(
            target=self._pump, name="ctprof-container-output", daemon=True
        )
        self.thread.start()

    def _pump(self) -> None:
        try:
            for out, err in self.stream:
                for data, sink in ((out, sys.stdout), (err, sys.stderr)):
                    if data:
                        sink.buffer.write(data)
                        sink.flush()
        except Exception as exc:  # noqa: BLE001 - output is best effort
            log.warning("copying the container's output failed: %s", exc)

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)


class _SignalRelay:
    """Records SIGINT and SIGTERM for the wait loop, which forwards them to the
    container."""

    def __init__(self) -> None:
        self.pending: list[int] = []
        self.forwarded: list[str] = []
        self.interrupts = 0
        self._previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum, frame) -> None:
        self.pending.append(signum)

    def forward(self, client, container_id: str) -> None:
        while self.pending:
            signum = self.pending.pop(0)
            if signum == signal.SIGINT:
                self.interrupts += 1
                if self.interrupts >= _INTERRUPTS_TO_KILL:
                    # A command that ignores SIGINT would otherwise keep ctprof waiting.
                    signum = signal.SIGKILL
            name = signal.Signals(signum).name
            try:
                client.api.kill(container_id, signal=name)
                self.forwarded.append(name)
            except Exception as exc:  # noqa: BLE001 - the container may be gone
                log.warning("cannot forward %s to the container: %s", name, exc)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


class _Starter:
    """Calls the engine's start in a thread, so that the caller can watch for
    the container's cgroup meanwhile."""

    def __init__(self, container) -> None:
        self.container = container
        self.error: str | None = None
        self.thread = threading.Thread(
            target=self._run, name="ctprof-container-start", daemon=True
        )
        self.thread.start()

    def _run(self) -> None:
        import docker

        try:
            self.container.start()
        except docker.errors.APIError as exc:
            self.error = str(exc.explanation or exc)
        except Exception as exc:  # noqa: BLE001 - reported as a start failure
            self.error = str(exc)

    def running(self) -> bool:
        return self.thread.is_alive()


def _expected_dirs(layout: cg.Layout, attrs: dict, engine: dict) -> dict[str, str]:
    path = expected_cgroup_path(attrs, engine)
    if path is None:
        return {}
    membership = {controller: path for controller in cg.V1_CONTROLLERS}
    membership[cg.UNIFIED] = path
    return cg.cgroup_dirs(layout, membership)


def _await_cgroup(expected: dict[str, str], starter: _Starter) -> dict[str, str]:
    """Return the container's cgroup directories once the runtime has created
    them and put the container's first process in, or {} if that was missed.

    The runtime creates the cgroup before it runs the container's command, so
    a start sample taken now precedes the command's first instruction.
    """
    if not expected:
        return {}
    while starter.running():
        present = {key: d for key, d in expected.items() if os.path.isdir(d)}
        if len(present) == len(expected) and _has_process(present):
            return present
        time.sleep(_CGROUP_POLL_SECONDS)
    return {}


def _has_process(dirs: dict[str, str]) -> bool:
    for directory in dirs.values():
        try:
            with open(os.path.join(directory, "cgroup.procs"), "rb") as f:
                if not f.read().strip():
                    return False
        except OSError:
            return False
    return True


def _start(client, container, target: DockerTarget, recording, layout) -> str | None:
    """Start the container, bind the target and take the start sample.

    Returns the engine's error message when the start failed, else None.
    """
    attrs = client.api.inspect_container(container.id)
    expected = _expected_dirs(layout, attrs, target.engine)
    starter = _Starter(container)
    found = _await_cgroup(expected, starter)
    if found:
        target.bind_early(found)
        recording.start()
        while starter.running():
            if not _has_process(found):
                # The command ended before the engine finished starting it, so
                # the end sample is taken now, while the cgroup still exists.
                recording.take_end()
                break
            time.sleep(_CGROUP_POLL_SECONDS)
    starter.thread.join()
    if starter.error is None:
        attrs = client.api.inspect_container(container.id)
        target.facts["started_at"] = attrs["State"].get("StartedAt")
        target.bind(int(attrs["State"].get("Pid") or 0), layout)
    if not found:
        recording.start()
    return starter.error


def _start_failure_status(message: str) -> int:
    lowered = message.lower()
    if "not found" in lowered or "no such file" in lowered:
        return EXIT_NOT_FOUND
    if "permission denied" in lowered:
        return EXIT_CANNOT_EXECUTE
    return EXIT_ENGINE_ERROR


def _wait_exit(client, container_id: str, target: DockerTarget, relay) -> None:
    """Block until the main process exits (or the engine reports the end)."""
    watch = ProcessWatch(target.main_pid) if target.main_pid else None
    try:
        while True:
            relay.forward(client, container_id)
            if watch is not None:
                if watch.wait(_TICK_SECONDS):
                    return
                continue
            try:
                client.api.wait(container_id, timeout=_TICK_SECONDS * 10)
                return
            except Exception:  # noqa: BLE001 - read timeout: check signals, wait on
                continue
    finally:
        if watch is not None:
            watch.close()


def _final_state(client, container_id: str) -> dict:
    status = client.api.wait(container_id)
    state = client.api.inspect_container(container_id)["State"]
    return {
        "exit_code": status.get("StatusCode"),
        "oom_killed": state.get("OOMKilled"),
        "started_at": state.get("StartedAt"),
        "finished_at": state.get("FinishedAt"),
        "error": state.get("Error") or None,
    }


def _remove(client, container_id: str) -> None:
    try:
        # v=True: anonymous volumes go with the container, as with docker run --rm.
        client.api.remove_container(container_id, v=True, force=True)
    except Exception as exc:  # noqa: BLE001
        log.warning("cannot remove container %s: %s", container_id[:12], exc)


# Recorded in meta.json when the end sample has no parent to fall back on.
USER_PARENT_NOTE = (
    "the cgroup parent was given with --cgroup-parent, so ctprof creates none; "
    "when the engine removes the container's cgroup before the end sample, the "
    "totals miss the container's last moment"
)


def _make_parent(
    spec: RunSpec, engine: dict, layout: cg.Layout, label: str
) -> tuple[ContainerParent | None, dict]:
    """Create the container's cgroup parent when the user gave none, set it in
    ``spec`` and return it with its meta.json facts."""
    given = spec.create.get("cgroup_parent")
    if given:
        return None, {"path": given, "created_by": "user", "note": USER_PARENT_NOTE}
    driver = engine.get("cgroup_driver")
    if driver != "cgroupfs":
        # NOTE: the systemd driver needs a slice unit as the parent, which
        # ctprof does not create, so its containers keep the engine's default
        # parent and their totals can miss the last moment.
        return None, {
            "path": None,
            "created_by": "engine",
            "note": f"ctprof creates a cgroup parent only with the cgroupfs "
            f"driver, not {driver}",
        }
    try:
        parent = ContainerParent(layout, parent_name(label))
    except ParentSetupError as exc:
        log.warning("running the container without a ctprof cgroup parent: %s", exc)
        return None, {"path": None, "created_by": "engine", "note": str(exc)}
    spec.create["cgroup_parent"] = parent.path
    return parent, parent.describe()


def _create_with_parent(client, spec: RunSpec, engine: dict, layout, directory: str):
    """Create the container below its cgroup parent; return the container,
    the parent (None when ctprof made none) and the parent's facts."""
    label = os.path.basename(os.path.abspath(directory))
    parent, facts = _make_parent(spec, engine, layout, label)
    try:
        container = _create(client, spec)
    except BaseException:
        if parent is not None:
            parent.remove(timeout=0)
        raise
    return container, parent, facts


def run_container(
    docker_args: list[str],
    interval: float,
    levels: tuple[str, ...],
    output: str | None,
    name: str | None = None,
    force: bool = False,
) -> RunResult:
    """Create a container from ``docker run`` arguments, profile it to its exit
    and return its exit status and run directory."""
    spec = parse_run_args(docker_args)
    client = connect()
    _check_image(client, spec.image)
    label = name or spec.create.get("name") or spec.image
    directory = prepare_output(output or default_output(label), force)
    layout = cg.detect_layout()
    engine = engine_facts(client)
    container, parent, parent_facts = _create_with_parent(
        client, spec, engine, layout, directory
    )
    try:
        attrs = client.api.inspect_container(container.id)
        target = DockerTarget(
            container_facts(attrs),
            engine,
            counters_start_at_zero=True,
            cgroup_parent=parent_facts,
        )
        meta = {
            "command": spec.command,
            "docker_run_args": list(docker_args),
            "name": name or target.facts["name"],
        }
        recording = Recording(directory, target, levels, interval, meta, layout)
        result = _record(client, container, target, recording, layout)
    finally:
        if spec.remove:
            _remove(client, container.id)
        if parent is not None:
            # After --rm, and only once the engine removed the container's cgroup.
            parent.remove()
    return RunResult(result[0], directory, result[1], recording.meta)


def _record(client, container, target, recording, layout) -> tuple[int, dict]:
    pump = _OutputPump(client, container.id)
    relay = _SignalRelay()
    extra: dict = {}
    exit_code = EXIT_ENGINE_ERROR
    try:
        failure = _start(client, container, target, recording, layout)
        if failure is not None:
            print(
                f"ctprof: error: cannot start the container: {failure}", file=sys.stderr
            )
            exit_code = _start_failure_status(failure)
            extra["launch_error"] = failure
        else:
            if not recording.ended:
                recording.start_series()
                _wait_exit(client, container.id, target, relay)
                recording.take_end()
            state = _final_state(client, container.id)
            exit_code = state["exit_code"]
            extra["container_state"] = state
    finally:
        relay.restore()
        if relay.forwarded:
            extra["signals_forwarded"] = relay.forwarded
        summary = recording.finish(exit_code, extra)
        target.close()
        pump.join(5)
    return exit_code, summary
