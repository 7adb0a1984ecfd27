"""procfs.pick_values against the full parsers, on documented file formats."""

from __future__ import annotations

import pytest

from ctprof.collect import procfs
from ctprof.errors import ParseError

VMSTAT = b"""nr_free_pages 5921010
pgpgin 1618
pgfault 5905785
pgmajfault 1337
pswpin 0
pswpout 0
pgfault_extra 9
"""

MEMINFO = b"""MemTotal:       24684000 kB
MemFree:        23662000 kB
MemAvailable:   24198000 kB
Cached:           669140 kB
SwapCached:            0 kB
SwapTotal:             0 kB
"""


def test_pick_values_matches_full_vmstat_parse():
    keys = ("pgfault", "pgmajfault", "pswpin", "pswpout", "nr_free_pages")
    full = procfs.parse_key_value(VMSTAT, "/proc/vmstat")
    picked = procfs.pick_values(VMSTAT, "/proc/vmstat", keys, b" ")
    assert picked == {key: full[key] for key in keys}


def test_pick_values_matches_full_meminfo_parse():
    keys = ("MemTotal", "MemFree", "Cached", "SwapTotal")
    full = procfs.parse_meminfo(MEMINFO)
    picked = procfs.pick_values(MEMINFO, "/proc/meminfo", keys, b":")
    assert picked == {key: full[key] for key in keys}


def test_pick_values_matches_whole_key_only():
    # "Cached" must not match "SwapCached", nor "pgfault" "pgfault_extra".
    assert procfs.pick_values(MEMINFO, "m", ("Cached",), b":") == {"Cached": 669140}
    assert procfs.pick_values(VMSTAT, "v", ("pgfault",), b" ") == {"pgfault": 5905785}


def test_pick_values_leaves_out_missing_keys():
    assert procfs.pick_values(VMSTAT, "v", ("workingset_refault",), b" ") == {}


def test_pick_values_rejects_non_integer():
    with pytest.raises(ParseError, match="expected an integer"):
        procfs.pick_values(b"pgfault x1\n", "/proc/vmstat", ("pgfault",), b" ")


def test_pid_status_picks_requested_fields():
    status = b"Name:\tsleep\nVmHWM:\t    1234 kB\nvoluntary_ctxt_switches:\t7\n"
    keys = ("VmHWM", "voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")
    values = procfs.parse_pid_status(status, "/proc/1/status", keys)
    assert values == {"VmHWM": 1234, "voluntary_ctxt_switches": 7}


def test_pid_status_rejects_text_value():
    status = b"Name:\tsleep\nVmHWM:\t    1234 kB\n"
    with pytest.raises(ParseError, match="expected an integer"):
        procfs.parse_pid_status(status, "/proc/1/status", ("Name",))


def test_pid_io_pairs():
    data = b"rchar: 10\nwchar: 20\nsyscr: 3\nsyscw: 4\nread_bytes: 0\n"
    values = procfs.parse_pid_io(data, "/proc/1/io")
    assert values == {"rchar": 10, "wchar": 20, "syscr": 3, "syscw": 4, "read_bytes": 0}
    with pytest.raises(ParseError):
        procfs.parse_pid_io(b"rchar 10\n", "/proc/1/io")


PRESSURE = b"""some avg10=0.12 avg60=0.05 avg300=0.01 total=11963881
full avg10=0.00 avg60=0.00 avg300=0.00 total=250
"""


def test_pressure_totals_match_full_parse():
    full = procfs.parse_pressure(PRESSURE, "/proc/pressure/io")
    totals = procfs.parse_pressure_totals(PRESSURE, "/proc/pressure/io")
    assert totals == {
        "some.total": full["some.total"],
        "full.total": full["full.total"],
    }


def test_pressure_totals_reject_unknown_line():
    with pytest.raises(ParseError, match="unknown PSI line"):
        procfs.parse_pressure_totals(b"most avg10=1 total=3\n", "/proc/pressure/io")
    with pytest.raises(ParseError, match="unknown PSI line"):
        procfs.parse_pressure_totals(b"some avg10=1\n", "/proc/pressure/io")
