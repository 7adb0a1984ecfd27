#!/usr/bin/env bash
# Run the example pipeline end to end and print its per-stage table:
# install the Debian tools when missing, set up the virtual environment,
# generate the inputs (fixed seed), index the reference, serve the reads on
# 127.0.0.1 and run ctprof pipeline.
# Usage: run.sh [--small] [--build DIR]
#   --small      inputs for a run of a few seconds (as in the tests)
#   --build DIR  where inputs, outputs and the run directory go [default:
#                the build directory next to this script]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="$here/build"
size=()
while [ $# -gt 0 ]; do
    case "$1" in
        --small) size=(--small); shift ;;
        --build) build="$2"; shift 2 ;;
        *) echo "run.sh: unknown argument $1; use --small or --build DIR" >&2; exit 2 ;;
    esac
done

packages=(bwa samtools seqtk curl)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "run.sh: installing Debian packages: ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
bash "$repo/scripts/setup.sh"
export PATH="$repo/.venv/bin:$PATH"

rm -rf "$build/work" "$build/run"
mkdir -p "$build/work"
python "$here/generate.py" "$build" "${size[@]}"
bwa index "$build/ref/reference.fa" 2>/dev/null
cp "$here/pipeline.yaml" "$build/pipeline.yaml"

port="$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
python -m http.server --bind 127.0.0.1 --directory "$build/served" "$port" >/dev/null 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
export READS_URL="http://127.0.0.1:$port/reads.fq"
for _ in $(seq 50); do
    curl --silent --fail --head "$READS_URL" >/dev/null && break
    sleep 0.1
done

status=0
ctprof pipeline "$build/pipeline.yaml" -o "$build/run" || status=$?
echo "run.sh: run directory $build/run (ctprof report $build/run)"
exit "$status"
