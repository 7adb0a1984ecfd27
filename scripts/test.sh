#!/usr/bin/env bash
# Install everything the tests need and run them: Debian packages, the venv,
# a Docker engine with a local busybox image, then pytest. Extra arguments go
# to pytest. The Docker engine this script started is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
bash scripts/dockerd.sh start
trap 'bash scripts/dockerd.sh stop' EXIT
export CTPROF_TEST_IMAGE="${CTPROF_TEST_IMAGE:-ctprof-busybox:latest}"
.venv/bin/ruff check src tests bench
.venv/bin/mypy src/ctprof --ignore-missing-imports
.venv/bin/python -m pytest "$@"
