"""Fork N children that each burn about MS milliseconds of CPU, one at a time
or a few at once, then exit. Usage: fork_children.py N MS"""

import os
import sys
import time

count = int(sys.argv[1])
burn = float(sys.argv[2]) / 1000.0

for _ in range(count):
    pid = os.fork()
    if pid == 0:
        end = time.process_time() + burn
        while time.process_time() < end:
            pass
        os._exit(0)
    os.waitpid(pid, 0)
