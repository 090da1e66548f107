#!/bin/sh
# "make test" on another Debian release, the way a user of it would run
# it: in a fresh root of that release (tools/suite-root.sh), on a copy
# of this tree, as root, with nothing installed beforehand but git and
# make; then "make deb" there, and the package installed, checked and
# purged with apt (tests/install/check-package.sh).
# usage: tools/suite-test.sh SUITE [COMMAND...]
#   COMMAND (or the shell command line in $SUITE_CMD) runs in the tree's
#   copy instead of the above.
#
# The root runs in its own mount and PID namespaces (unshare): /proc,
# /sys, /dev and a nodev tmpfs /tmp (as Debian 13 mounts it) are mounted
# there only, and every process left when the command ends is killed
# with the namespace.  The network is the machine's: apt inside fetches
# from the archive, the tests use loopback.  Needs root.
set -eu
cd "$(dirname "$0")/.."

suite=${1:-}
[ -n "$suite" ] || { echo "usage: $0 SUITE [COMMAND...]" >&2; exit 2; }
shift
[ "$(id -u)" -eq 0 ] || { echo "picmd: $0 needs root (chroot, mounts)" >&2; exit 1; }

base=build/suite
tar=$(tools/suite-root.sh "$suite" "$base")
root=$(pwd)/$base/$suite
rm -rf "$root"
mkdir -p "$root"
tar -xf "$tar" -C "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

# This tree as git sees it, uncommitted changes included, build/ not.
mkdir -p "$root/root/picmd"
git ls-files -z --cached --others --exclude-standard |
	tar --null -T - --ignore-failed-read -cf - 2>/dev/null |
	tar -xf - -C "$root/root/picmd"

if [ $# -eq 0 ] && [ -n "${SUITE_CMD:-}" ]; then
	set -- sh -c "$SUITE_CMD"
elif [ $# -eq 0 ]; then
	set -- sh -c 'make test && make deb && tests/install/check-package.sh'
fi

# The first argument of the inner sh is the root; the rest, the command.
unshare --mount --pid --fork --kill-child -- sh -eu -c '
	root=$1; shift
	mount --make-rprivate /
	mount -t proc proc "$root/proc"
	mount --rbind /sys "$root/sys"
	mount --rbind /dev "$root/dev"
	mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs "$root/tmp"
	exec chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		LANG=C.UTF-8 CI="${CI:-}" \
		sh -c "cd /root/picmd && exec \"\$@\"" sh "$@"
' sh "$root" "$@"
