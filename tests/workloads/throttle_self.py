"""Limit this process's own cgroup to 0.2 CPU, then burn CPU for SECONDS.

Usage: throttle_self.py SECONDS
Needs root. Writes cpu.cfs_quota_us (cgroup v1) or cpu.max (cgroup v2) of the
cgroup named in /proc/self/cgroup, so the kernel throttles the run's cgroup.
"""

import os
import sys
import time

PERIOD_US = 100_000
QUOTA_US = 20_000


def cgroup_paths() -> list[str]:
    paths = []
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            path = path.lstrip("/")
            if controllers == "":
                paths.append(os.path.join("/sys/fs/cgroup", path, "cpu.max"))
                paths.append(os.path.join("/sys/fs/cgroup/unified", path, "cpu.max"))
            elif "cpu" in controllers.split(","):
                for mount in (controllers, "cpu", "cpu,cpuacct"):
                    base = os.path.join("/sys/fs/cgroup", mount, path)
                    paths.append(os.path.join(base, "cpu.cfs_quota_us"))
    return paths


def limit() -> str:
    for path in cgroup_paths():
        if not os.path.exists(path):
            continue
        with open(path, "w") as f:
            if path.endswith("cpu.max"):
                f.write(f"{QUOTA_US} {PERIOD_US}")
            else:
                f.write(str(QUOTA_US))
        return path
    raise SystemExit("no cpu controller file found for this process's cgroup")


print(limit(), flush=True)
end = time.monotonic() + float(sys.argv[1])
count = 0
while time.monotonic() < end:
    count += 1
