"""Reading small kernel files cheaply, with descriptors kept open between samples.

procfs and cgroupfs files are regenerated on every read from offset 0, so one
descriptor can be re-read with pread instead of being opened each sample.
"""

from __future__ import annotations

import errno
import os

_CHUNK = 65536


def read_file(path: str) -> bytes:
    """Read a whole file in binary with one descriptor, closed afterwards."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return _read_fd(fd)
    finally:
        os.close(fd)


def _read_fd(fd: int) -> bytes:
    data = os.pread(fd, _CHUNK, 0)
    if len(data) < _CHUNK:
        return data
    parts = [data]
    offset = len(data)
    while True:
        more = os.pread(fd, _CHUNK, offset)
        if not more:
            return b"".join(parts)
        parts.append(more)
        offset += len(more)


class FileCache:
    """Open descriptors keyed by path, re-read with pread on every call.

    A path whose descriptor fails (the file went away, or the kernel refuses
    pread on it) is closed and reopened once, and then read normally.
    """

    def __init__(self) -> None:
        self._fds: dict[str, int] = {}

    def read(self, path: str) -> bytes:
        fd = self._fds.get(path)
        if fd is not None:
            try:
                return _read_fd(fd)
            except OSError as exc:
                self._drop(path)
                if exc.errno not in (
                    errno.ESPIPE,
                    errno.EINVAL,
                    errno.ENODEV,
                    errno.ESTALE,
                ):
                    raise
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            data = _read_fd(fd)
        except OSError:
            os.close(fd)
            raise
        self._fds[path] = fd
        return data

    def forget_prefix(self, prefix: str) -> None:
        """Close every descriptor under a directory, e.g. of an exited process."""
        for path in [p for p in self._fds if p.startswith(prefix)]:
            self._drop(path)

    def _drop(self, path: str) -> None:
        fd = self._fds.pop(path, None)
        if fd is not None:
            os.close(fd)

    def close(self) -> None:
        for path in list(self._fds):
            self._drop(path)

    def __len__(self) -> int:
        return len(self._fds)
