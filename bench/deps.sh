#!/bin/sh
# Install what the benchmarks need (tools/deps.sh bench: the build, python3,
# valgrind, redis-server, memcached), then make sure the two peers do not
# stay behind as system services: the benchmark starts its own instances on
# loopback ports.  Only a service whose package this run installed is
# touched; a redis or memcached you installed yourself is left alone.
set -eu
cd "$(dirname "$0")/.."

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q ' installed$'
}

new=""
if command -v dpkg-query >/dev/null 2>&1; then
	for p in redis-server memcached; do
		installed "$p" || new="$new $p"
	done
fi

tools/deps.sh bench

[ -n "$new" ] || exit 0
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
for p in $new; do
	installed "$p" || continue
	case $p in
	redis-server) pidfiles=/run/redis/redis-server.pid ;;
	memcached) pidfiles="/run/memcached/memcached.pid /run/memcached.pid" ;;
	esac
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1
	then
		# The package's postinst enabled and started it: stop it, and
		# keep it from coming back at boot.
		if systemctl is-active --quiet "$p" ||
		    systemctl is-enabled --quiet "$p" 2>/dev/null; then
			$sudo systemctl disable --now "$p" >/dev/null 2>&1 || true
			echo "bench: installing $p started the $p service;" \
			    "stopped and disabled it (undo: systemctl enable" \
			    "--now $p)" >&2
		fi
		continue
	fi
	# Without systemd: the init script's pid file, if it started one.
	for pidfile in $pidfiles; do
		[ -r "$pidfile" ] || continue
		pid=$(cat "$pidfile")
		if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$p" ]; then
			$sudo kill "$pid"
			echo "bench: installing $p started it (pid $pid, from" \
			    "$pidfile); stopped it" >&2
		fi
	done
done
