"""The C process reader (ctprof._procread) against the Python reader.

Both readers must give equal rows, with equal Python types, and raise equal
ParseErrors, for real processes, fixture files and random bytes.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import signal
import struct
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ctprof.collectors import CLOCK_TICKS
from ctprof.errors import ParseError
from ctprof.process_collector import ProcessCollector

from conftest import ctprof, needs_root, read_json

try:
    from ctprof import _procread  # type: ignore[attr-defined]
except ImportError:
    _procread = None

needs_native = pytest.mark.skipif(
    _procread is None, reason="ctprof._procread is not built"
)

BOOT = 1_700_000_000
BASE = "/fixture/42/"

# Fields 1-44 of proc(5) for a sleeping single-threaded process.
STAT = (
    b"42 (my worker) S 1 42 42 0 -1 4194560 11 0 2 0 10 5 7 8 20 0 1 0 250"
    b" 4096000 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 3 0 0"
    b" 0 0 0 0 0 0 0\n"
)
STATUS = (
    b"Name:\tmy worker\nState:\tS (sleeping)\nVmHWM:\t     500 kB\n"
    b"VmRSS:\t     400 kB\nvoluntary_ctxt_switches:\t6\n"
    b"nonvoluntary_ctxt_switches:\t4\n"
)
IO = (
    b"rchar: 100\nwchar: 200\nsyscr: 3\nsyscw: 4\nread_bytes: 4096\n"
    b"write_bytes: 8192\ncancelled_write_bytes: 0\n"
)


def _stat_with(index: int, token: bytes) -> bytes:
    """Return STAT with proc(5) field ``index`` (from 3) replaced."""
    head, _, tail = STAT.partition(b") ")
    fields = tail.split()
    fields[index - 3] = token
    return head + b") " + b" ".join(fields) + b"\n"


def _collectors(proc_root: str = "/proc"):
    """Return a ProcessCollector with the C reader and one with Python's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CTPROF_NATIVE", "1")
        native = ProcessCollector(proc_root, boot_time=BOOT)
        patch.setenv("CTPROF_NATIVE", "0")
        python = ProcessCollector(proc_root, boot_time=BOOT)
    assert native.reader == "native"
    assert python.reader == "python"
    return native, python


@pytest.fixture(scope="module")
def readers():
    if _procread is None:
        pytest.skip("ctprof._procread is not built")
    return _collectors()


def _typed(row: list) -> list:
    """Return the row as (type, value) pairs, so that 1 != 1.0."""
    return [(type(value), value) for value in row]


def _outcome(call) -> object:
    """Return the typed row, or the ParseError's path and detail."""
    try:
        row = call()
    except ParseError as exc:
        return ("ParseError", exc.path, exc.detail)
    return _typed(row)


def _parse_both(native, python, stat, status, io):
    """Return the outcome of both readers on the same bytes."""
    c_result = _outcome(lambda: native._native.parse(42, BASE, stat, status, io))
    py_result = _outcome(lambda: python._parse(42, BASE, stat, status, io)[0])
    return c_result, py_result


def test_extension_is_built():
    if os.environ.get("CTPROF_NATIVE") == "0":
        pytest.skip("CTPROF_NATIVE=0 selects the Python reader")
    assert _procread is not None, (
        "ctprof._procread did not build; run `pip install -e .` and read the "
        "compiler's output"
    )
    assert ProcessCollector().reader == "native"


def test_native_env_zero_selects_python(monkeypatch):
    monkeypatch.setenv("CTPROF_NATIVE", "0")
    assert ProcessCollector().reader == "python"


@pytest.mark.parametrize("native", ["0", "1"])
def test_run_meta_names_process_reader(tmp_path, native):
    needs_root()
    if native == "1" and _procread is None:
        pytest.skip("ctprof._procread is not built")
    run_dir = tmp_path / "run"
    env = {**os.environ, "CTPROF_NATIVE": native}
    proc = ctprof("run", "-o", str(run_dir), "--", "true", env=env)
    assert proc.returncode == 0, proc.stderr
    meta = read_json(run_dir / "meta.json")
    assert meta["process_reader"] == {"0": "python", "1": "native"}[native]


# ------------------------------------------------------------ real processes


def _state(pid: int) -> bytes:
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    return data[data.rfind(b")") + 2 :][:1]


def _wait_for_states(pids: list[int], states: bytes, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while any(_state(pid) not in states for pid in pids):
        if time.monotonic() > deadline:
            raise AssertionError(f"processes not in state {states!r} in time")
        time.sleep(0.01)


def _snapshot(pids: list[int]) -> list[bytes]:
    out = []
    for pid in pids:
        for name in ("stat", "schedstat"):
            with open(f"/proc/{pid}/{name}", "rb") as f:
                out.append(f.read())
    return out


def _wait_until_idle(pids: list[int], timeout: float = 10) -> None:
    """Wait until no process's stat or schedstat changes for 50 ms."""
    deadline = time.monotonic() + timeout
    before = _snapshot(pids)
    while True:
        time.sleep(0.05)
        after = _snapshot(pids)
        if after == before:
            return
        if time.monotonic() > deadline:
            raise AssertionError("processes still running after the timeout")
        before = after


THREADED = (
    "import threading, time\n"
    "for _ in range(3):\n"
    "    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
    "print('ready', flush=True)\n"
    "time.sleep(60)\n"
)


@needs_native
def test_rows_match_on_real_processes():
    busy = [subprocess.Popen(["sh", "-c", "while :; do :; done"]) for _ in range(8)]
    sleeping = [subprocess.Popen(["sleep", "60"]) for _ in range(40)]
    threaded = subprocess.Popen(
        [sys.executable, "-c", THREADED], stdout=subprocess.PIPE, text=True
    )
    children = [*busy, *sleeping, threaded]
    pids = [p.pid for p in children]
    native, python = _collectors()
    try:
        assert threaded.stdout is not None
        assert threaded.stdout.readline() == "ready\n"
        # Running processes change between two reads, so both readers parse
        # the same bytes first.
        for pid in [p.pid for p in busy] + pids:
            base = f"/proc/{pid}/"
            files = {}
            for name in ("stat", "status", "io"):
                with open(base + name, "rb") as f:
                    files[name] = f.read()
            c_row = native._native.parse(pid, base, *files.values())
            py_row, _ = python._parse(pid, base, *files.values())
            assert _typed(c_row) == _typed(py_row)

        # Stopped and sleeping processes do not change, so whole samples of
        # both collectors must be equal, reused rows included.
        for p in busy:
            p.send_signal(signal.SIGSTOP)
        _wait_for_states([p.pid for p in busy], b"T")
        _wait_until_idle(pids)
        for reuse in (False, True, True):
            native.reuse_unchanged = python.reuse_unchanged = reuse
            c_rows, c_new = native.collect(pids)
            py_rows, py_new = python.collect(pids)
            assert len(c_rows) == len(pids)
            assert [_typed(r) for r in c_rows] == [_typed(r) for r in py_rows]
            assert c_new == py_new
        # Both passes with reuse on reuse every row but the threaded one's.
        assert native.reused == python.reused == 2 * (len(pids) - 1)
        assert native.unavailable == python.unavailable == {}
    finally:
        for p in children:
            p.kill()
        for p in children:
            p.wait()
        native.close()
        python.close()


@needs_native
def test_reaped_process_raises_esrch():
    child = subprocess.Popen(["sleep", "60"])
    base = f"/proc/{child.pid}/"
    fds = [os.open(base + name, os.O_RDONLY) for name in ("stat", "status", "io")]
    reader = _collectors()[0]._native
    try:
        child.kill()
        child.wait()
        with pytest.raises(ProcessLookupError) as raised:
            reader.read(child.pid, base, *fds, -1, None)
        assert raised.value.filename == base + "stat"
    finally:
        for fd in fds:
            os.close(fd)


@needs_native
def test_unchanged_files_return_none():
    child = subprocess.Popen(["sleep", "60"])
    base = f"/proc/{child.pid}/"
    names = ("stat", "status", "io", "schedstat")
    fds = [os.open(base + name, os.O_RDONLY) for name in names]
    reader = _collectors()[0]._native
    try:
        _wait_for_states([child.pid], b"S")
        row, last = reader.read(child.pid, base, *fds, None)
        assert row[0] == child.pid
        assert isinstance(last, tuple)
        assert reader.read(child.pid, base, *fds, last) is None
        assert reader.read(child.pid, base, *fds, (b"", last[1])) is not None
    finally:
        child.kill()
        child.wait()
        for fd in fds:
            os.close(fd)


PR_SET_DUMPABLE = 4
NOBODY = 65534


def _rows_after_io_denied() -> dict:
    """Read, as the unprivileged user `nobody`, a process of that user before
    and after it turns non-dumpable, which makes its open /proc/PID/io fail
    with EACCES."""
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)
    # Changing the user cleared the dumpable flag, and the target inherits
    # the flag set here.
    ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)

    go_r, go_w = os.pipe()
    done_r, done_w = os.pipe()
    target = os.fork()
    if target == 0:
        os.read(go_r, 1)
        ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        os.write(done_w, b"x")
        time.sleep(60)
        os._exit(0)

    try:
        os.environ["CTPROF_NATIVE"] = "1"
        native = ProcessCollector(boot_time=BOOT)
        os.environ["CTPROF_NATIVE"] = "0"
        python = ProcessCollector(boot_time=BOOT)

        _wait_until_idle([target])
        before = [c.collect([target])[0] for c in (native, python)]
        os.write(go_w, b"x")
        os.read(done_r, 1)
        _wait_until_idle([target])
        after = [c.collect([target])[0] for c in (native, python)]

        return {
            "readers": (native.reader, python.reader),
            "before": [[_typed(r) for r in rows] for rows in before],
            "after": [[_typed(r) for r in rows] for rows in after],
            "unavailable": (native.unavailable, python.unavailable),
        }
    finally:
        os.kill(target, signal.SIGKILL)
        os.waitpid(target, 0)


@needs_native
def test_unreadable_io_switched_off_in_both():
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to another user")
    result_r, result_w = os.pipe()
    helper = os.fork()
    if helper == 0:
        code = 1
        try:
            os.close(result_r)
            os.write(result_w, pickle.dumps(_rows_after_io_denied()))
            code = 0
        finally:
            os._exit(code)

    os.close(result_w)
    chunks = []
    while chunk := os.read(result_r, 65536):
        chunks.append(chunk)
    os.close(result_r)
    _, status = os.waitpid(helper, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    report = pickle.loads(b"".join(chunks))

    assert report["readers"] == ("native", "python")
    c_before, py_before = report["before"]
    assert c_before == py_before
    assert c_before[0][-1][1] is not None  # write_bytes_total was readable
    c_after, py_after = report["after"]
    assert c_after == py_after
    assert c_after[0][-1][1] is None
    c_unavailable, py_unavailable = report["unavailable"]
    assert c_unavailable == py_unavailable
    assert "rchar_bytes_total" in c_unavailable


# ------------------------------------------------------------ fixture bytes

CASES = {
    "valid": (STAT, STATUS, IO),
    "no io descriptor": (STAT, STATUS, None),
    "truncated stat": (STAT[:60], STATUS, IO),
    "stat without ')'": (STAT.replace(b")", b" "), STATUS, IO),
    "stat without '('": (STAT.replace(b"(", b" "), STATUS, IO),
    "empty stat": (b"", STATUS, IO),
    "comm with ') ('": (STAT.replace(b"my worker", b"a) (b"), STATUS, IO),
    "comm not UTF-8": (STAT.replace(b"my worker", b"\xff\xfe"), STATUS, IO),
    "non-numeric utime": (_stat_with(14, b"abc"), STATUS, IO),
    "non-numeric rss": (_stat_with(24, b"12x"), STATUS, IO),
    "non-numeric start time": (_stat_with(22, b"-"), STATUS, IO),
    "signed and underscored": (_stat_with(14, b"+1_0"), STATUS, IO),
    "negative utime": (_stat_with(14, b"-7"), STATUS, IO),
    "leading zeros": (_stat_with(10, b"000011"), STATUS, IO),
    "utime beyond a double": (_stat_with(14, b"9" * 400), STATUS, IO),
    "start time beyond a double": (_stat_with(22, b"9" * 400), STATUS, IO),
    "vsize beyond 64 bits": (_stat_with(23, b"9" * 30), STATUS, IO),
    "utime beyond 2**53": (_stat_with(14, b"9" * 17), STATUS, IO),
    "rss beyond 64 bits": (_stat_with(24, b"9" * 20), STATUS, IO),
    "utime with a NUL": (_stat_with(14, b"1\x002"), STATUS, IO),
    "21 fields (before Linux 2.6.18)": (
        STAT[: STAT.index(b" 17 1 0 0")] + b"\n",
        STATUS,
        IO,
    ),
    "threads 01": (_stat_with(20, b"01"), STATUS, IO),
    "empty status": (STAT, b"", IO),
    "status key without value": (STAT, b"VmHWM:\t\nVmRSS:\t1 kB\n", IO),
    "status key at end without value": (STAT, b"Name:\tx\nVmHWM:", IO),
    "status value not a number": (STAT, STATUS.replace(b"500 kB", b"5x0 kB"), IO),
    "status key first": (STAT, b"VmHWM:\t7 kB\nName:\tx\n", IO),
    "status key first and later": (STAT, b"VmHWM:\t7 kB\nVmHWM:\t9 kB\n", IO),
    "status without newline": (STAT, b"voluntary_ctxt_switches:\t12", IO),
    "empty io": (STAT, STATUS, b""),
    "odd io token count": (STAT, STATUS, IO + b"extra\n"),
    "io key without ':'": (STAT, STATUS, IO.replace(b"syscr:", b"syscr")),
    "io value not a number": (STAT, STATUS, IO.replace(b"200", b"2e2")),
    "io repeated key": (STAT, STATUS, IO + b"rchar: 7\n"),
    "io key ':' only": (STAT, STATUS, b": 5\n"),
}


@pytest.mark.parametrize("case", CASES)
def test_parse_matches_python(readers, case):
    native, python = readers
    c_result, py_result = _parse_both(native, python, *CASES[case])
    assert c_result == py_result


def test_malformed_cases_raise_parse_error(monkeypatch):
    # The table above must keep covering errors, or its equality test could
    # pass with both readers accepting everything.
    monkeypatch.setenv("CTPROF_NATIVE", "0")
    python = ProcessCollector("/proc", boot_time=BOOT)
    for case in (
        "truncated stat",
        "stat without ')'",
        "empty stat",
        "non-numeric utime",
        "utime beyond a double",
        "status key without value",
        "odd io token count",
        "io key without ':'",
        "io value not a number",
    ):
        with pytest.raises(ParseError):
            python._parse(42, BASE, *CASES[case])


def _write_tree(root, stat: bytes, status: bytes, io: bytes | None) -> None:
    (root / "stat").write_text(f"cpu 1 2 3 4\nbtime {BOOT}\n")
    directory = root / "42"
    directory.mkdir()
    (directory / "stat").write_bytes(stat)
    (directory / "status").write_bytes(status)
    if io is not None:
        (directory / "io").write_bytes(io)
    (directory / "schedstat").write_bytes(b"1000 0 1\n")
    (directory / "cmdline").write_bytes(b"worker\0")


def _collect_outcome(collector: ProcessCollector) -> object:
    try:
        rows, new = collector.collect([42])
    except ParseError as exc:
        return ("ParseError", exc.path.rpartition("/")[2], exc.detail)
    return [_typed(r) for r in rows], new


@needs_native
@pytest.mark.parametrize("case", CASES)
def test_collect_matches_python_on_fixture_trees(tmp_path, case):
    _write_tree(tmp_path, *CASES[case])
    native, python = _collectors(str(tmp_path))
    assert _collect_outcome(native) == _collect_outcome(python)


# ------------------------------------------------------------ fuzzing

TRICKY_TOKENS = [
    b"0",
    b"1",
    b"01",
    b"+5",
    b"-5",
    b"1_000",
    b"_1",
    b"1__0",
    b"0x10",
    b"9" * 18,
    b"9" * 19,
    b"9" * 25,
    b"9" * 400,
    b"1e5",
    b"\x00",
    b"\xff",
    b"\xd9\xa3",
    b")",
    b"(",
    b":",
    b"kB",
    b"",
]
tokens = st.one_of(
    st.integers(min_value=0, max_value=2**64).map(lambda n: str(n).encode()),
    st.sampled_from(TRICKY_TOKENS),
    st.integers(min_value=-(2**70), max_value=2**70).map(lambda n: str(n).encode()),
    st.binary(max_size=6),
)


@st.composite
def stat_bytes(draw) -> bytes:
    fields = STAT[STAT.index(b")") + 2 :].split()
    for _ in range(draw(st.integers(0, 4))):
        fields[draw(st.integers(0, len(fields) - 1))] = draw(tokens)
    fields = fields[: draw(st.integers(15, len(fields)))]
    comm = draw(st.sampled_from([b"w", b"a) (b", b"", b"\xff"]))
    return b"42 (" + comm + b") " + b" ".join(fields) + b"\n"


@st.composite
def status_bytes(draw) -> bytes:
    keys = [
        b"Name",
        b"VmHWM",
        b"voluntary_ctxt_switches",
        b"nonvoluntary_ctxt_switches",
    ]
    lines = [
        draw(st.sampled_from(keys))
        + draw(st.sampled_from([b":", b":\t", b" "]))
        + draw(tokens)
        + draw(st.sampled_from([b"", b" kB"]))
        for _ in range(draw(st.integers(0, 6)))
    ]
    return b"\n".join(lines) + draw(st.sampled_from([b"", b"\n"]))


@st.composite
def io_bytes(draw) -> bytes | None:
    keys = [b"rchar:", b"wchar:", b"syscr:", b"read_bytes:", b"other:", b"x"]
    parts = [
        draw(st.sampled_from(keys)) + b" " + draw(tokens)
        for _ in range(draw(st.integers(0, 8)))
    ]
    return draw(st.sampled_from([None, b"\n".join(parts)]))


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    stat=st.one_of(st.binary(max_size=400), stat_bytes()),
    status=st.one_of(st.binary(max_size=200), status_bytes()),
    io=st.one_of(st.none(), st.binary(max_size=120), io_bytes()),
)
def test_fuzzed_files_give_equal_outcomes(readers, stat, status, io):
    native, python = readers
    c_result, py_result = _parse_both(native, python, stat, status, io)
    assert c_result == py_result


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(stat=stat_bytes(), status=status_bytes(), io=io_bytes())
def test_fuzzed_fields_give_equal_outcomes(readers, stat, status, io):
    # Mostly well-formed files with a few odd tokens, so that most examples
    # get past the first checks to the integer parsing and the row.
    native, python = readers
    c_result, py_result = _parse_both(native, python, stat, status, io)
    assert c_result == py_result


def _bits(value: float) -> bytes:
    return struct.pack("<d", value)


@needs_native
@given(x=st.floats(), digits=st.sampled_from([0, 2, 9, 12]))
@example(x=2.675, digits=2)
@example(x=0.5, digits=0)
@example(x=-1e-12, digits=9)
@example(x=1125899.9068426245, digits=9)
def test_round_matches_python_round(x, digits):
    assert _bits(_procread._round(x, digits)) == _bits(round(x, digits))


@needs_native
@given(ticks=st.integers(min_value=0, max_value=2**53))
def test_scaled_ticks_match_python(ticks):
    x = ticks * (1.0 / CLOCK_TICKS)
    assert _bits(_procread._round(x, 9)) == _bits(round(x, 9))
    start = BOOT + ticks / CLOCK_TICKS
    assert _bits(_procread._round(start, 2)) == _bits(round(start, 2))
