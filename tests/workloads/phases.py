"""Burn CPU, write and fsync a file, burn CPU again, marking each phase.

Usage: phases.py SECONDS WRITE_MIB [ANY EXTRA ARGUMENTS ARE IGNORED]
Marks "write" and "burn" through ``python -m ctprof mark`` when profiled.
"""

import os
import subprocess
import sys
import tempfile
import time


def burn(seconds: float) -> None:
    end = time.monotonic() + seconds
    x = 0
    while time.monotonic() < end:
        x += 1


def mark(name: str) -> None:
    subprocess.run([sys.executable, "-m", "ctprof", "mark", name], check=False)


seconds = float(sys.argv[1])
mib = int(sys.argv[2])
burn(seconds / 2)
mark("write")
with tempfile.NamedTemporaryFile(dir=os.getcwd()) as f:
    block = os.urandom(1024 * 1024)
    for _ in range(mib):
        f.write(block)
    f.flush()
    os.fsync(f.fileno())
# Keep the write phase longer than a few 0.1 s intervals, so that a window
# between the two marks contains several samples even when the disk is fast.
time.sleep(0.35)
mark("burn")
burn(seconds / 2)
