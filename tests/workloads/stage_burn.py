"""A pipeline stage with known consumption, and the ground truth it measured.

Usage: stage_burn.py OUT.json CHILDREN MS [--parallel] [--mark NAME]
                     [--exit CODE] [--alloc-mib N] [--write-mib N]

Forks CHILDREN processes that each burn MS milliseconds of CPU (one after the
other, or all at once with --parallel). --mark runs ``python -m ctprof mark
NAME`` halfway. --alloc-mib touches N MiB in a child and --write-mib writes
and fsyncs N MiB. OUT.json gets the wall and monotonic times of the start
and end of this process's work, and RUSAGE_SELF + RUSAGE_CHILDREN, which is
the CPU time the kernel charged to the whole process tree.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

started = {"t": time.time(), "mono": time.monotonic()}

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("children", type=int)
parser.add_argument("ms", type=float)
parser.add_argument("--parallel", action="store_true")
parser.add_argument("--mark")
parser.add_argument("--exit", type=int, default=0)
parser.add_argument("--alloc-mib", type=int, default=0)
parser.add_argument("--write-mib", type=int, default=0)
args = parser.parse_args()


def burn_in_child(seconds: float) -> int:
    pid = os.fork()
    if pid == 0:
        end = time.process_time() + seconds
        while time.process_time() < end:
            pass
        os._exit(0)
    return pid


def alloc_in_child(mib: int) -> None:
    pid = os.fork()
    if pid == 0:
        block = bytearray(mib * 1024 * 1024)
        for i in range(0, len(block), 4096):
            block[i] = 1
        os._exit(0)
    os.waitpid(pid, 0)


def write_and_sync(mib: int) -> None:
    with tempfile.NamedTemporaryFile(dir=os.getcwd()) as f:
        block = os.urandom(1024 * 1024)
        for _ in range(mib):
            f.write(block)
        f.flush()
        os.fsync(f.fileno())


pids = []
for index in range(args.children):
    pids.append(burn_in_child(args.ms / 1000.0))
    if not args.parallel:
        os.waitpid(pids.pop(), 0)
    if args.mark and index == args.children // 2 - 1:
        mark_time = {"t": time.time(), "mono": time.monotonic()}
        subprocess.run([sys.executable, "-m", "ctprof", "mark", args.mark], check=True)
for pid in pids:
    os.waitpid(pid, 0)
if args.alloc_mib:
    alloc_in_child(args.alloc_mib)
if args.write_mib:
    write_and_sync(args.write_mib)

me = resource.getrusage(resource.RUSAGE_SELF)
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
truth = {
    "start": started,
    "end": {"t": time.time(), "mono": time.monotonic()},
    "cpu_seconds": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
    "children_max_rss_bytes": kids.ru_maxrss * 1024,
}
if args.mark:
    truth["mark"] = mark_time
with open(args.out, "w") as f:
    json.dump(truth, f)
sys.exit(args.exit)
