"""Keep reading a container's network counters after its last process exits.

A network namespace lives as long as something refers to it. A thread of the
profiler that joins the namespace with setns(2) is such a reference, and
/proc/TID/net/dev of that thread shows the namespace's interfaces. The end
sample of a container that has just exited can therefore still read its final
network counters. The thread does nothing but wait, and it leaves the
container itself untouched.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading

log = logging.getLogger(__name__)

# sched.h: the namespace type passed to setns(2).
CLONE_NEWNET = 0x40000000


class NetnsThread:
    """A thread parked in the network namespace of ``pid``.

    ``tid`` is the thread's kernel id, usable in place of a pid under /proc.
    """

    def __init__(self, pid: int, proc_root: str = "/proc") -> None:
        self.tid: int | None = None
        self._fd = os.open(
            os.path.join(proc_root, str(pid), "ns", "net"), os.O_RDONLY | os.O_CLOEXEC
        )
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._error: str | None = None
        self._thread = threading.Thread(
            target=self._park, name=f"ctprof-netns-{pid}", daemon=True
        )
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self.close()
            raise OSError(
                f"setns into the network namespace of pid {pid} failed: {self._error}"
            )

    def _park(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.setns(self._fd, CLONE_NEWNET) != 0:
            self._error = os.strerror(ctypes.get_errno())
        else:
            self.tid = threading.get_native_id()
        self._ready.set()
        if self._error is None:
            self._stop.wait()

    def close(self) -> None:
        """Let the thread end, which drops the reference to the namespace."""
        self._stop.set()
        self._thread.join()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
