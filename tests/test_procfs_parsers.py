"""procfs parsers on fixture text in the formats of proc(5), and fuzzed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ctprof.collect import procfs
from ctprof.errors import ParseError

STAT = b"""cpu  6758 0 3321 68394 1078 0 71 39 0 0
cpu0 3379 0 1660 34197 539 0 35 19 0 0
cpu1 3379 0 1661 34197 539 0 36 20 0 0
intr 198926 9 0 0 0
ctxt 427093
btime 1796399200
processes 5784
procs_running 3
procs_blocked 1
softirq 1000 1 2 3
"""

STAT_OLD_KERNEL = b"cpu  10 20 30 40 50 60 70\nctxt 5\nbtime 1\nprocesses 2\n"

MEMINFO = b"""MemTotal:       24683792 kB
MemFree:        24414080 kB
MemAvailable:   24368804 kB
Buffers:            1980 kB
Cached:            59152 kB
SwapTotal:             0 kB
HugePages_Total:       0
"""

DISKSTATS = (
    b"   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
    b" 254       0 vda 3000 10 480000 1500 200 5 16000 900 2 2100 2400"
    b" 0 0 0 0 50 30\n"
    b" 254       1 vda1 2900 10 470000 1400 190 5 15000 800 0 2000 2200\n"
)

NET_DEV = b"""Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    3193      29    0    0    0     0          0         0     3193      29    0    0    0     0       0          0
  eth0: 481672132 10162    1    2    0     0          0         0   496371    5927    3    4    0     0       0          0
"""

PRESSURE = b"""some avg10=0.12 avg60=0.80 avg300=1.31 total=7303281
full avg10=0.00 avg60=0.00 avg300=0.00 total=42
"""

PID_STAT = (
    b"4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 1341 26556 22 218 5 1 781 208 20 0 1 0 "
    b"123456 25337856 2450 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 3 0 0"
    b" 0 0 0 0 0 0 0 0\n"
)

PID_STATUS = b"""Name:\tpython3
VmPeak:\t   30000 kB
VmHWM:\t   18436 kB
VmRSS:\t   18000 kB
Threads:\t1
voluntary_ctxt_switches:\t335
nonvoluntary_ctxt_switches:\t25
"""

PID_IO = b"""rchar: 22853549
wchar: 10487574
syscr: 708
syscw: 48
read_bytes: 10510336
write_bytes: 10493952
cancelled_write_bytes: 0
"""


def test_stat_reads_cpu_modes_and_counters():
    out = procfs.parse_stat(STAT)
    assert out["cpu.user"] == 6758
    assert out["cpu.system"] == 3321
    assert out["cpu.steal"] == 39
    assert out["cpu.guest_nice"] == 0
    assert out["ctxt"] == 427093
    assert out["intr"] == 198926
    assert out["processes"] == 5784
    assert out["procs_running"] == 3
    assert out["procs_blocked"] == 1
    assert out["btime"] == 1796399200


def test_stat_leaves_out_columns_old_kernels_lack():
    out = procfs.parse_stat(STAT_OLD_KERNEL)
    assert out["cpu.softirq"] == 70
    assert "cpu.steal" not in out
    assert "cpu.guest" not in out


def test_stat_per_cpu_lines():
    per_cpu = procfs.parse_stat_per_cpu(STAT)
    assert set(per_cpu) == {"0", "1"}
    assert per_cpu["1"]["softirq"] == 36


def test_meminfo_values_in_kib():
    out = procfs.parse_meminfo(MEMINFO)
    assert out["MemTotal"] == 24683792
    assert out["MemAvailable"] == 24368804
    assert out["HugePages_Total"] == 0


def test_loadavg():
    out = procfs.parse_loadavg(b"0.04 0.19 0.11 1/123 4567\n")
    assert out == {"load1": 0.04, "load5": 0.19, "load15": 0.11}


def test_diskstats_per_device_fields():
    out = procfs.parse_diskstats(DISKSTATS)
    assert set(out) == {"loop0", "vda", "vda1"}
    vda = out["vda"]
    assert vda["reads_completed"] == 3000
    assert vda["sectors_read"] == 480000
    assert vda["time_writing_ms"] == 900
    assert vda["ios_in_progress"] == 2
    assert vda["weighted_time_io_ms"] == 2400


def test_net_dev_per_interface():
    out = procfs.parse_net_dev(NET_DEV)
    assert out["eth0"]["receive_bytes"] == 481672132
    assert out["eth0"]["receive_errs"] == 1
    assert out["eth0"]["transmit_drop"] == 4
    assert out["lo"]["transmit_packets"] == 29


def test_pressure_totals_in_microseconds():
    out = procfs.parse_pressure(PRESSURE, "/proc/pressure/io")
    assert out["some.total"] == 7303281
    assert out["full.total"] == 42
    assert out["some.avg10"] == pytest.approx(0.12)


def test_cpuinfo_mean_clock():
    data = b"processor\t: 0\ncpu MHz\t\t: 2000.000\n\nprocessor\t: 1\ncpu MHz\t\t: 3000.000\n"
    assert procfs.parse_cpuinfo_mhz(data) == {"cpu MHz": 2500.0}
    assert procfs.parse_cpuinfo_mhz(b"processor\t: 0\nBogoMIPS\t: 50.00\n") == {}


def test_pid_stat_handles_parentheses_in_name():
    fields = procfs.parse_pid_stat(PID_STAT, "/proc/4242/stat")
    assert fields[1] == b"4242"
    assert fields[2] == b"my (odd) name"
    assert fields[3] == b"S"
    assert fields[4] == b"1"
    assert fields[14] == b"5"  # utime
    assert fields[16] == b"781"  # cutime
    assert fields[22] == b"123456"  # starttime
    assert fields[42] == b"3"  # delayacct_blkio_ticks


def test_pid_status_and_io():
    status = procfs.parse_pid_status(
        PID_STATUS, "status", ("VmHWM", "voluntary_ctxt_switches")
    )
    assert status == {"VmHWM": 18436, "voluntary_ctxt_switches": 335}
    io = procfs.parse_pid_io(PID_IO, "io")
    assert io["read_bytes"] == 10510336
    assert io["syscw"] == 48


def test_cmdline_joins_arguments():
    assert procfs.parse_cmdline(b"sleep\x000.5\x00") == "sleep 0.5"


@pytest.mark.parametrize(
    "parser, data",
    [
        (procfs.parse_stat, b"ctxt 5\n"),
        (procfs.parse_stat, b"cpu 1 x 3\n"),
        (procfs.parse_meminfo, b"MemFree: 1 kB\n"),
        (procfs.parse_meminfo, b"MemTotal 1\n"),
        (procfs.parse_loadavg, b"0.1 0.2\n"),
        (procfs.parse_loadavg, b"nan 0.2 0.3\n"),
        (procfs.parse_diskstats, b"8 0 sda 1 2 3\n"),
        (procfs.parse_net_dev, b"h\nh\neth0: 1 2 3\n"),
        (lambda d: procfs.parse_pressure(d, "p"), b"some avg10\n"),
        (lambda d: procfs.parse_pid_stat(d, "s"), b"12 no parens S 1\n"),
        (lambda d: procfs.parse_key_value(d, "vmstat"), b"pgfault one\n"),
    ],
)
def test_malformed_text_raises_parse_error(parser, data):
    with pytest.raises(ParseError):
        parser(data)


_PARSERS = [
    procfs.parse_stat,
    procfs.parse_stat_per_cpu,
    procfs.parse_loadavg,
    procfs.parse_meminfo,
    procfs.parse_cpuinfo_mhz,
    procfs.parse_diskstats,
    procfs.parse_net_dev,
    lambda d: procfs.parse_key_value(d, "f"),
    lambda d: procfs.parse_pressure(d, "f"),
    lambda d: procfs.parse_pid_stat(d, "f"),
    lambda d: procfs.parse_pid_status(d, "f", ("VmHWM",)),
    lambda d: procfs.parse_pid_io(d, "f"),
]

_SAMPLES = [STAT, MEMINFO, DISKSTATS, NET_DEV, PRESSURE, PID_STAT, PID_STATUS, PID_IO]


@st.composite
def _mangled(draw):
    """Real file text with bytes replaced, cut or inserted, or random bytes."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=300))
    base = bytearray(draw(st.sampled_from(_SAMPLES)))
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, max(len(base) - 1, 0)))
        action = draw(st.sampled_from(["replace", "cut", "insert"]))
        byte = draw(st.sampled_from(b" :\n()=-.0123456789abcx\x00\xff"))
        if action == "replace" and base:
            base[pos] = byte
        elif action == "cut":
            del base[pos:]
        else:
            base.insert(pos, byte)
    return bytes(base)


@settings(max_examples=400, deadline=None)
@given(data=_mangled(), which=st.integers(0, len(_PARSERS) - 1))
def test_fuzzed_text_raises_only_parse_error(data, which):
    try:
        _PARSERS[which](data)
    except ParseError:
        pass
