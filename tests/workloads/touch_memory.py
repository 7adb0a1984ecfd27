"""Touch N MiB of anonymous memory page by page, hold it for S seconds.
Usage: touch_memory.py MIB SECONDS"""

import mmap
import sys
import time

size = int(sys.argv[1]) * 1024 * 1024
buf = mmap.mmap(-1, size)
for offset in range(0, size, mmap.PAGESIZE):
    buf[offset] = 1
time.sleep(float(sys.argv[2]))
