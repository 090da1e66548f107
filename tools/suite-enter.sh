#!/bin/sh
# Run a shell command line as root in a root file system of another
# Debian release (made by tools/suite-root.sh and unpacked in ROOT), in
# the tree's copy at ROOT/root/picmd.
# usage: tools/suite-enter.sh ROOT COMMAND-LINE
#
# Its own mount and PID namespaces (unshare): /proc, /sys, /dev and a
# nodev tmpfs /tmp (as Debian 13 mounts it) are mounted there only, and
# every process left when the command ends is killed with the namespace.
# The environment is a clean one; the network is the machine's (apt
# inside fetches from the archive, tests use loopback).  Needs root.
set -eu
root=${1:?usage: $0 ROOT COMMAND-LINE}
cmd=${2:?usage: $0 ROOT COMMAND-LINE}
[ "$(id -u)" -eq 0 ] || { echo "picmd: $0 needs root (chroot, mounts)" >&2; exit 1; }
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

exec unshare --mount --pid --fork --kill-child -- sh -eu -c '
	root=$1
	mount --make-rprivate /
	mount -t proc proc "$root/proc"
	mount --rbind /sys "$root/sys"
	mount --rbind /dev "$root/dev"
	mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs "$root/tmp"
	exec chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		LANG=C.UTF-8 CI="${CI:-}" DEBIAN_FRONTEND=noninteractive \
		sh -c "cd /root/picmd && $2"
' sh "$root" "$cmd"
