"""Run a command as a child and record the CPU time the kernel charged.

Usage: python rusage_wrapper.py OUT.json -- COMMAND [ARGS...]
OUT.json gets RUSAGE_SELF + RUSAGE_CHILDREN user and system seconds: the
ground truth for the CPU seconds a profiler should see for this tree.
"""

import json
import resource
import subprocess
import sys

out = sys.argv[1]
command = sys.argv[sys.argv.index("--") + 1 :]
status = subprocess.run(command).returncode
me = resource.getrusage(resource.RUSAGE_SELF)
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(out, "w") as f:
    json.dump(
        {
            "user_seconds": me.ru_utime + kids.ru_utime,
            "system_seconds": me.ru_stime + kids.ru_stime,
            "children_max_rss_bytes": kids.ru_maxrss * 1024,
        },
        f,
    )
sys.exit(status)
