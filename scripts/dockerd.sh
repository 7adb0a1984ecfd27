#!/usr/bin/env bash
# Start or stop a Docker engine for the tests, without iptables or a bridge
# (containers then run with --network none), and build the local busybox
# image the tests use. No image is pulled: it is imported from busybox-static.
#   scripts/dockerd.sh start   # starts no engine when one already responds
#   scripts/dockerd.sh stop    # stops only the engine this script started
set -euo pipefail
cd "$(dirname "$0")/.."
state=".ci-state"
pidfile="$state/dockerd.pid"
image="${CTPROF_TEST_IMAGE:-ctprof-busybox:latest}"

start() {
    mkdir -p "$state"
    if ! docker info >/dev/null 2>&1; then
        echo "dockerd: starting (log in $state/dockerd.log)"
        nohup dockerd --iptables=false --bridge=none --pidfile "$state/dockerd-own.pid" \
            >"$state/dockerd.log" 2>&1 &
        echo $! >"$pidfile"
        for _ in $(seq 1 60); do
            docker info >/dev/null 2>&1 && break
            sleep 0.5
        done
        docker info >/dev/null 2>&1 || { echo "dockerd: did not start; see $state/dockerd.log" >&2; tail -20 "$state/dockerd.log" >&2; exit 1; }
    fi
    if ! docker image inspect "$image" >/dev/null 2>&1; then
        root=$(mktemp -d)
        mkdir -p "$root/bin" "$root/tmp" "$root/proc" "$root/sys" "$root/dev" "$root/etc"
        cp /bin/busybox "$root/bin/busybox"
        for applet in $("$root/bin/busybox" --list); do
            [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
        done
        echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
        tar -C "$root" -c . | docker import -c 'ENV PATH=/bin' - "$image" >/dev/null
        rm -rf "$root"
        echo "dockerd: built image $image from busybox-static"
    fi
}

stop() {
    if [ -f "$pidfile" ]; then
        pid=$(cat "$pidfile")
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid"
            for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        fi
        rm -f "$pidfile"
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
