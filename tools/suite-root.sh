#!/bin/sh
# A root file system of a Debian release, made with mmdebstrap from
# Debian's archive: what a fresh machine of that release has before the
# README's first command (minbase, plus git and make).  Kept as a tar
# under DIR and made again only when this recipe changes.
# usage: tools/suite-root.sh SUITE DIR      prints the tar's path
#
# The mirror is PICMD_MIRROR, or the first Debian archive in the
# machine's apt sources, or deb.debian.org.
set -eu

suite=${1:-}
dir=${2:-}
case "$suite" in
bookworm|trixie|forky|sid) ;;
*) echo "usage: $0 bookworm|trixie|forky|sid DIR" >&2; exit 2 ;;
esac
[ -n "$dir" ] || { echo "usage: $0 SUITE DIR" >&2; exit 2; }

mirror=${PICMD_MIRROR:-}
if [ -z "$mirror" ]; then
	mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		/etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -v '^[[:space:]]*#' | grep -o 'https\?://[^ ]*/debian/\?' | grep -v security |
		head -n 1 || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}
mirror=${mirror%/}
security=$(echo "$mirror" | sed 's|/debian$|/debian-security|')

packages="git,make,ca-certificates"
recipe="suite=$suite mirror=$mirror packages=$packages variant=minbase v=1"
tar="$dir/$suite.tar"
if [ -f "$tar" ] && [ "$(cat "$tar.recipe" 2>/dev/null)" = "$recipe" ]; then
	echo "$tar"
	exit 0
fi

command -v mmdebstrap >/dev/null 2>&1 || tools/deps.sh suite-root >&2
mkdir -p "$dir"
new="$dir/$suite.new.tar"
rm -rf "$tar" "$tar.recipe" "$new"
echo "picmd: making a $suite root from $mirror (minbase, $packages)" >&2
# sid has no security or updates suite.
if [ "$suite" = sid ]; then
	set -- "deb $mirror $suite main"
else
	set -- "deb $mirror $suite main" "deb $mirror $suite-updates main" \
		"deb $security $suite-security main"
fi
if ! mmdebstrap --quiet --variant=minbase --include="$packages" \
	"$suite" "$new" "$@" >&2; then
	rm -rf "$new"
	echo "picmd: could not make the $suite root (is Debian's archive reachable at $mirror?)" >&2
	exit 1
fi
mv "$new" "$tar"
echo "$recipe" >"$tar.recipe"
echo "$tar"
