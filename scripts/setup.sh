#!/usr/bin/env bash
# Install what ctprof, its tests and its examples need on a Debian machine:
# the Debian packages (when missing) and a virtual environment in .venv.
# Usage: scripts/setup.sh [--test]   (--test adds the test and Docker tools)
set -euo pipefail
cd "$(dirname "$0")/.."

# gcc and python3-dev compile the optional C extension ctprof._procread.
packages=(stress-ng sysbench gcc python3-dev)
if [ "${1:-}" = "--test" ]; then
    packages+=(docker.io busybox-static bwa samtools seqtk prometheus chromium sysstat)
fi
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
extras="."
[ "${1:-}" = "--test" ] && extras=".[test,dev]"
.venv/bin/pip install -q --disable-pip-version-check -e "$extras"
