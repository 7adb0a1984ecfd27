#!/usr/bin/env bash
# Install ctprof and profile a real workload end to end: stress-ng loading one
# CPU and 128 MiB of memory for 5 s, sampled every 0.2 s, then print the report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
out="ctprof-runs/demo-$(date -u +%Y%m%dT%H%M%SZ)"
status=0
.venv/bin/ctprof run -i 0.2 -o "$out" -- \
    stress-ng --cpu 1 --vm 1 --vm-bytes 128M --timeout 5s || status=$?
.venv/bin/ctprof report "$out"
exit "$status"
