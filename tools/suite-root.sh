#!/bin/sh
# A root file system of a Debian release, made with mmdebstrap from
# Debian's archive: what a fresh machine of that release has before the
# README's first command (minbase, plus git and make).  Kept as a tar
# under DIR and made again only when this recipe changes.
# usage: tools/suite-root.sh SUITE DIR      prints the tar's path
#
# The mirror: tools/debian-mirror.sh (PICMD_MIRROR overrides it).
set -eu

suite=${1:-}
dir=${2:-}
case "$suite" in
bookworm|trixie|forky|sid) ;;
*) echo "usage: $0 bookworm|trixie|forky|sid DIR" >&2; exit 2 ;;
esac
[ -n "$dir" ] || { echo "usage: $0 SUITE DIR" >&2; exit 2; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
cd "$(dirname "$0")/.."

mirror=$(tools/debian-mirror.sh)
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
