"""``ctprof run``: start a command in a fresh cgroup and record it to its end."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field

from .collect import cgroupfs as cg
from .errors import CtprofError, UsageError
from .recording import Recording, default_output, prepare_output
from .targets.cgroup import own_cgroup_target
from .targets.command import CgroupSetupError, CommandTarget, RunCgroup, make_preexec

log = logging.getLogger(__name__)

# Environment variable that gives a profiled command its run directory,
# where ``ctprof mark`` writes.
RUN_DIR_ENV = "CTPROF_RUN_DIR"

FALLBACK_WARNING = (
    "cannot create a cgroup for this run ({reason}); following the process tree instead. "
    "Missed in this mode: container (cgroup) counters, and descendants that start and end between samples."
)


# Printed once when ``run`` profiles the container it runs in.
INSIDE_CONTAINER_NOTE = (
    "ctprof: running inside a container and cannot create a cgroup ({reason}); "
    "profiling the container's own cgroup instead. Its counters include ctprof "
    "itself and every other process of the container."
)


class CommandNotFound(CtprofError):
    def __init__(self, command: str, exit_code: int, message: str) -> None:
        super().__init__(message)
        self.command = command
        self.exit_code = exit_code


@dataclass
class RunResult:
    exit_code: int
    directory: str
    summary: dict
    meta: dict = field(default_factory=dict)


def check_command(argv: list[str], cwd: str | None = None) -> str:
    """Resolve the program like a shell would; exit statuses 127 and 126 as in sh.

    A relative path with a slash is resolved against ``cwd``, where it will run.
    """
    if not argv:
        raise UsageError(
            "missing command: give it after --, e.g. ctprof run -- sleep 1"
        )
    program = argv[0]
    if "/" in program:
        program = os.path.join(cwd or "", program)
        if not os.path.exists(program):
            raise CommandNotFound(
                program, 127, f"command not found: {program}; check the path"
            )
        if os.path.isdir(program) or not os.access(program, os.X_OK):
            raise CommandNotFound(
                program,
                126,
                f"command not executable: {program}; check its permissions",
            )
        return program
    found = shutil.which(program)
    if found is None:
        raise CommandNotFound(
            program,
            127,
            f"command not found: {program}; check the name or give its full path",
        )
    return found


def exit_code_from_status(status: int) -> int:
    """Return the shell's exit code for a wait status (128+N when killed by N)."""
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def make_target(run_name: str) -> tuple[CommandTarget, cg.Layout]:
    """Create the run's cgroup, or fall back to the process tree with one warning."""
    layout = cg.detect_layout()
    reason = None
    if layout.kind == cg.NONE:
        reason = "no cgroup hierarchy is mounted"
    else:
        try:
            own = cg.process_cgroup_dirs(layout)
            return CommandTarget(RunCgroup(layout, own, run_name)), layout
        except CgroupSetupError as exc:
            reason = str(exc)
            inside = own_cgroup_target(layout, reason)
            if inside is not None:
                print(INSIDE_CONTAINER_NOTE.format(reason=reason), file=sys.stderr)
                return inside, layout
        except OSError as exc:
            reason = f"cannot read the cgroup layout: {exc}"
    print("ctprof: warning: " + FALLBACK_WARNING.format(reason=reason), file=sys.stderr)
    return CommandTarget(None, fallback_reason=reason), layout


class _Forwarder:
    """Forwards SIGINT and SIGTERM to the command while it runs.

    When ctprof reads its commands from a terminal, the terminal already sends
    Ctrl-C to the whole foreground process group, so SIGINT is forwarded only
    when the command runs in its own process group (stdin not a terminal).
    """

    def __init__(self, pid: int, own_group: bool) -> None:
        self.pid = pid
        self.own_group = own_group
        self.received: list[int] = []
        self._previous = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum, frame) -> None:
        self.received.append(signum)
        if signum == signal.SIGINT and not self.own_group:
            return
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            pass

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def run_command(
    argv: list[str],
    interval: float,
    levels: tuple[str, ...],
    output: str | None = None,
    name: str | None = None,
    force: bool = False,
    extra_env: dict[str, str] | None = None,
    cwd: str | None = None,
) -> RunResult:
    """Profile ``argv`` and return its exit code and the run directory."""
    check_command(argv, cwd)
    directory = prepare_output(output or default_output(name or argv[0]), force)
    run_name = (
        f"ctprof-{os.getpid()}-{os.path.basename(os.path.abspath(directory))[:60]}"
    )
    target, layout = make_target(run_name)
    meta = {
        "command": argv,
        "name": name or os.path.basename(argv[0]),
        "cwd": cwd or os.getcwd(),
    }
    recording = Recording(directory, target, levels, interval, meta, layout)
    env = dict(os.environ)
    env.update(extra_env or {})
    env[RUN_DIR_ENV] = os.path.abspath(directory)
    own_group = not sys.stdin.isatty()
    preexec = make_preexec(
        target.run_cgroup.procs_files() if target.run_cgroup else [], own_group
    )
    exit_code: int | None = None
    extra: dict = {}
    try:
        recording.start()
        try:
            proc = subprocess.Popen(argv, env=env, cwd=cwd, preexec_fn=preexec)
        except (OSError, subprocess.SubprocessError) as exc:
            exit_code = 127 if isinstance(exc, FileNotFoundError) else 126
            extra["launch_error"] = str(exc)
            print(f"ctprof: cannot start {argv[0]}: {exc}", file=sys.stderr)
        else:
            target.main_pid = proc.pid
            forwarder = _Forwarder(proc.pid, own_group)
            recording.start_series()
            try:
                # WNOWAIT keeps the exited command as a zombie, so the end
                # sample still reads its totals (children's CPU included).
                os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
                target.extra_pids = [proc.pid]
                recording.take_end()
            finally:
                forwarder.restore()
            exit_code, rusage = _reap(proc)
            extra["command_rusage"] = rusage
            if forwarder.received:
                extra["signals_forwarded"] = [
                    signal.Signals(s).name for s in forwarder.received
                ]
    finally:
        summary = recording.finish(exit_code, extra)
        if target.run_cgroup is not None:
            moved = target.run_cgroup.remove()
            if moved:
                log.warning(
                    "processes %s outlived the command; moved them out of the run's cgroup",
                    moved,
                )
    return RunResult(
        exit_code if exit_code is not None else 1, directory, summary, recording.meta
    )


def _reap(proc: subprocess.Popen) -> tuple[int, dict]:
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    rusage = {
        "user_seconds": usage.ru_utime,
        "system_seconds": usage.ru_stime,
        "max_rss_bytes": usage.ru_maxrss * 1024,
    }
    return exit_code_from_status(status), rusage
