"""Waiting for a process that is not our child to exit.

A pidfd (pidfd_open(2), Linux 5.3) becomes readable the moment the process
exits, before its parent reaps it. For a container's main process that is
before the engine removes the container's cgroup, which leaves time for an
end sample. Older kernels fall back to polling /proc/PID.
"""

from __future__ import annotations

import os
import select
import time

# Polling period of the fallback without pidfd.
_POLL_SECONDS = 0.01


class ProcessWatch:
    """Notices the exit of one process, promptly where the kernel allows."""

    def __init__(self, pid: int, proc_root: str = "/proc") -> None:
        self.pid = pid
        self.proc_root = proc_root
        self.fd: int | None = None
        try:
            self.fd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            self.fd = None

    def exited(self) -> bool:
        return self.wait(0)

    def wait(self, timeout: float | None) -> bool:
        """Return True once the process has exited, False after ``timeout`` s."""
        if self.fd is not None:
            poller = select.poll()
            poller.register(self.fd, select.POLLIN)
            millis = None if timeout is None else max(int(timeout * 1000), 0)
            return bool(poller.poll(millis))
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if not self._alive():
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_SECONDS)

    def _alive(self) -> bool:
        # A zombie still has /proc/PID; its state letter is Z.
        try:
            with open(os.path.join(self.proc_root, str(self.pid), "stat"), "rb") as f:
                data = f.read()
        except OSError:
            return False
        return data[data.rfind(b")") + 2 : data.rfind(b")") + 3] not in (b"Z", b"X")

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
