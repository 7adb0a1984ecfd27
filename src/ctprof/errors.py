"""Exceptions shared across ctprof. Each message names the value and the fix."""

from __future__ import annotations


class CtprofError(Exception):
    """Base class of every error ctprof raises on purpose."""


class UsageError(CtprofError):
    """Invalid input from the user; the CLI prints it on one line and exits 2."""


class ParseError(CtprofError):
    """A kernel file whose text does not match its documented format."""

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(f"{path}: {detail}")
        self.path = path
        self.detail = detail


class RunFormatError(CtprofError):
    """A run directory that is missing, damaged or from a newer ctprof."""
