"""samples.jsonl.gz: what the writer puts on disk and what iter_samples returns."""

from __future__ import annotations

import errno
import gzip
import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from ctprof import gzlines, store
from ctprof.errors import RunFormatError


def _sample(seq: int) -> dict:
    return {
        "seq": seq,
        "kind": "sample",
        "t": 1_700_000_000 + seq * 0.1,
        "mono": 100 + seq * 0.1,
        "cost": {"host": 0.0003},
        "host": {"cpu_user_seconds_total": 12.5 + seq, "disk": {"sda": {"x": seq}}},
        "processes": [[pid, 5.0, "sleep", seq * pid] for pid in range(100, 170)],
    }


def _write(directory, count: int) -> store.RunWriter:
    writer = store.RunWriter(str(directory))
    writer.write_meta({"levels": ["host"]})
    for seq in range(count):
        writer.write_sample(_sample(seq))
    return writer


def test_samples_round_trip_while_open(tmp_path):
    writer = _write(tmp_path, 30)
    assert list(store.iter_samples(str(tmp_path))) == [_sample(i) for i in range(30)]
    writer.close()
    assert list(store.iter_samples(str(tmp_path))) == [_sample(i) for i in range(30)]


def test_closed_file_is_plain_gzip(tmp_path):
    _write(tmp_path, 5).close()
    text = gzip.decompress((tmp_path / store.SAMPLES).read_bytes())
    lines = text.decode().splitlines()
    assert [json.loads(line) for line in lines] == [_sample(i) for i in range(5)]


def test_bytes_written_counts_compressed_file(tmp_path):
    writer = _write(tmp_path, 20)
    size = (tmp_path / store.SAMPLES).stat().st_size
    assert writer.bytes_written == size
    raw = sum(len(json.dumps(_sample(i), separators=(",", ":"))) for i in range(20))
    assert size < raw / 4


def test_truncated_last_sample_is_dropped(tmp_path):
    writer = _write(tmp_path, 9)
    before = (tmp_path / store.SAMPLES).stat().st_size
    writer.write_sample(_sample(9))
    data = (tmp_path / store.SAMPLES).read_bytes()
    expected = [_sample(i) for i in range(9)]
    whole = expected + [_sample(9)]
    dropped = 0
    for cut in range(before, len(data)):
        (tmp_path / store.SAMPLES).write_bytes(data[:cut])
        samples = list(store.iter_samples(str(tmp_path)))
        # The last bytes of a sample are the end of its deflate block and the
        # empty stored block of the sync flush: without them the text of the
        # sample can already be complete.
        assert samples in (expected, whole), cut
        dropped += samples == expected
    assert dropped >= len(data) - before - 8


def test_damaged_bytes_keep_earlier_samples(tmp_path):
    _write(tmp_path, 10)
    path = tmp_path / store.SAMPLES
    data = bytearray(path.read_bytes())
    data[-40:] = b"\xff" * 40
    path.write_bytes(bytes(data))
    samples = list(store.iter_samples(str(tmp_path)))
    assert samples == [_sample(i) for i in range(len(samples))]
    assert len(samples) >= 8


def test_failed_write_starts_new_member(tmp_path, monkeypatch):
    writer = _write(tmp_path, 3)
    real_write = os.write
    calls = {"n": 0}

    def full_disk(fd, data):
        calls["n"] += 1
        if calls["n"] == 1:
            real_write(fd, data[: len(data) // 2])  # a partial write, then ENOSPC
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(gzlines.os, "write", full_disk)
    with pytest.raises(OSError):
        writer.write_sample(_sample(3))
    monkeypatch.setattr(gzlines.os, "write", real_write)
    writer.write_sample(_sample(4))
    writer.write_sample(_sample(5))
    expected = [_sample(i) for i in (0, 1, 2, 4, 5)]
    assert list(store.iter_samples(str(tmp_path))) == expected
    writer.close()
    assert list(store.iter_samples(str(tmp_path))) == expected
    text = gzip.decompress((tmp_path / store.SAMPLES).read_bytes())
    assert [json.loads(line) for line in text.splitlines()] == expected


_KILLED_WRITER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from test_store_gzip import _sample
    from ctprof.store import RunWriter
    writer = RunWriter({directory!r})
    writer.write_meta({{"levels": ["host"]}})
    seq = 0
    while True:
        writer.write_sample(_sample(seq))
        seq += 1
        if seq == 50:
            print("ready", flush=True)
    """
)


@pytest.mark.parametrize("attempt", range(5))
def test_sigkill_mid_write_keeps_every_whole_sample(tmp_path, attempt):
    script = _KILLED_WRITER.format(
        tests=os.path.dirname(__file__), directory=str(tmp_path)
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline() == "ready\n"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    samples = list(store.iter_samples(str(tmp_path)))
    assert len(samples) >= 50
    assert samples == [_sample(i) for i in range(len(samples))]


def test_format_1_runs_are_still_read(tmp_path):
    lines = [json.dumps(_sample(i)) for i in range(3)]
    (tmp_path / store.SAMPLES_V1).write_text("\n".join(lines) + '\n{"seq": 3, "ki')
    meta = {"format_version": 1}
    (tmp_path / store.META).write_text(json.dumps(meta))
    assert store.read_meta(str(tmp_path))["format_version"] == 1
    assert list(store.iter_samples(str(tmp_path))) == [_sample(i) for i in range(3)]


def test_newer_format_is_rejected(tmp_path):
    meta = {"format_version": store.FORMAT_VERSION + 1}
    (tmp_path / store.META).write_text(json.dumps(meta))
    with pytest.raises(RunFormatError, match="upgrade ctprof"):
        store.read_meta(str(tmp_path))
