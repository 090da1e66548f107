#!/bin/sh
# "make test" on another Debian release, the way a user of it would run
# it: in a fresh root of that release (tools/suite-root.sh), on a copy
# of this tree, as root, with nothing installed beforehand but git and
# make; then "make deb" there, and the package installed, checked and
# purged with apt (tests/install/check-package.sh).
# usage: tools/suite-test.sh SUITE [COMMAND-LINE...]
#   COMMAND-LINE (or $SUITE_CMD), a shell command line, runs in the
#   tree's copy instead of the above, through tools/suite-enter.sh.
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

# This tree as git sees it, uncommitted changes included, build/ not.
mkdir -p "$root/root/picmd"
git ls-files -z --cached --others --exclude-standard |
	tar --null -T - --ignore-failed-read -cf - 2>/dev/null |
	tar -xf - -C "$root/root/picmd"

if [ $# -gt 0 ]; then
	cmd="$*"
elif [ -n "${SUITE_CMD:-}" ]; then
	cmd=$SUITE_CMD
else
	cmd='make test && make deb && tests/install/check-package.sh'
fi
exec tools/suite-enter.sh "$root" "$cmd"
