"""The run directory: writing it as a run goes, and reading it back.

Layout (format version 2):

- ``meta.json``: static facts, target, command, times, levels, the metrics that
  could not be read with the reason, and ``format_version``. Written when the
  run starts and rewritten atomically when it ends.
- ``samples.jsonl.gz``: one JSON object per line and sample, in a gzip
  stream flushed after every sample and appended with a single write() per
  sample (see gzlines), so a profiler killed with SIGKILL loses at most the
  sample in progress. A partial last line is ignored by the reader. Format 1
  wrote the same lines uncompressed to ``samples.jsonl``; both are read.
- ``summary.json``: totals over the run, written atomically at the end.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterator
from typing import Any

from .errors import RunFormatError
from .gzlines import GzipLineWriter, iter_gzip_lines

log = logging.getLogger(__name__)

# Version 2 moved the samples to samples.jsonl.gz; a reader of version 1
# would find no samples.jsonl and take the run for one without samples.
FORMAT_VERSION = 2
META = "meta.json"
SAMPLES = "samples.jsonl.gz"
# The uncompressed samples file of format version 1.
SAMPLES_V1 = "samples.jsonl"
SUMMARY = "summary.json"


def write_json_atomic(path: str, data: Any) -> None:
    """Write JSON to a temporary file in the same directory, then rename it."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    # mkstemp creates the file with mode 0600; give it the mode a plain
    # open() would (0666 less the umask), like the samples file.
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2, sort_keys=False, default=str)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class RunWriter:
    """Appends samples to a run directory as they are taken."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        self._samples = GzipLineWriter(os.path.join(directory, SAMPLES))
        self.samples_written = 0
        # Bytes added to samples.jsonl.gz, compressed.
        self.bytes_written = 0

    def write_meta(self, meta: dict) -> None:
        meta = dict(meta)
        meta["format_version"] = FORMAT_VERSION
        write_json_atomic(os.path.join(self.directory, META), meta)

    def write_sample(self, sample: dict) -> None:
        line = json.dumps(sample, separators=(",", ":")).encode() + b"\n"
        self.bytes_written += self._samples.write(line)
        self.samples_written += 1

    def write_summary(self, summary: dict) -> None:
        write_json_atomic(os.path.join(self.directory, SUMMARY), summary)

    def close(self) -> None:
        self._samples.close()


def is_run_dir(directory: str) -> bool:
    return os.path.isfile(os.path.join(directory, META))


def read_meta(directory: str) -> dict:
    path = os.path.join(directory, META)
    if not os.path.isdir(directory):
        raise RunFormatError(f"not a run directory: {directory} does not exist")
    try:
        with open(path) as f:
            meta = json.load(f)
    except FileNotFoundError:
        raise RunFormatError(
            f"not a run directory: {directory} has no {META}; give a directory written by 'ctprof run'"
        ) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise RunFormatError(f"unreadable {path}: {exc}") from None
    if not isinstance(meta, dict):
        raise RunFormatError(f"unreadable {path}: expected a JSON object")
    version = meta.get("format_version")
    if not isinstance(version, int):
        raise RunFormatError(
            f"{path} has no format_version; it was not written by ctprof"
        )
    if version > FORMAT_VERSION:
        raise RunFormatError(
            f"{directory} uses run format {version}, newer than this ctprof reads ({FORMAT_VERSION}); upgrade ctprof"
        )
    return meta


def iter_samples(directory: str) -> Iterator[dict]:
    """Yield the samples of a run, skipping a partial or damaged last line."""
    path = os.path.join(directory, SAMPLES)
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        path = os.path.join(directory, SAMPLES_V1)
        try:
            f = open(path, "rb")
        except FileNotFoundError:
            return
        lines: Iterator[bytes] = iter(f)
    else:
        lines = iter_gzip_lines(f, path)
    with f:
        bad = 0
        for line in lines:
            try:
                yield json.loads(line)
            except ValueError:
                # A partial last line is expected when the profiler was
                # killed mid-write; anything else is skipped and counted.
                bad += 1
        if bad:
            log.warning("%s: skipped %d unreadable line(s)", path, bad)


def read_summary(directory: str) -> dict | None:
    path = os.path.join(directory, SUMMARY)
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("%s unreadable (%s); recomputing from samples", path, exc)
        return None
