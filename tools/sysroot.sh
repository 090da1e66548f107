#!/bin/sh
# Assemble a build-local sysroot of Debian's arm64 or armhf libraries for
# the cross build (mk/cross.mk, docs/CROSS.md).
# usage: tools/sysroot.sh arm64|armhf DIR [SUITE]
#
# Without SUITE the packages come from the machine's own apt sources (its
# release); with SUITE (bookworm, trixie, ...) from that release of the
# Debian archive that tools/debian-mirror.sh names, main, -updates and
# -security, instead.
#
# The -dev packages of one architecture cannot be co-installed with those
# of another, so nothing is installed: a private apt configuration (the
# machine's sources and apt.conf.d, but APT::Architecture=ARCH and its own
# state, cache and empty dpkg status, in DIR.apt/) downloads the packages
# below with their dependency closure, and dpkg-deb -x unpacks each into
# DIR.  Absolute symlinks (libm.so -> /lib/...) are made relative, so they
# resolve inside DIR for the linker and for qemu -L.  No root needed; the
# machine's dpkg state and architectures are left alone.  DIR/.picmd-sysroot
# lists the packages unpacked and marks the sysroot complete.
set -eu

# What the daemon, client, plugins and unit tests link against.
packages="libc6-dev libevent-dev libinih-dev libgpiod-dev libedit-dev
libsystemd-dev libcmocka-dev"

case "${1:-}" in
arm64|armhf) arch=$1 ;;
*) echo "usage: $0 arm64|armhf DIR [SUITE]" >&2; exit 2 ;;
esac
[ -n "${2:-}" ] || { echo "usage: $0 arm64|armhf DIR [SUITE]" >&2; exit 2; }
suite=${3:-}
mkdir -p "$2"
root=$(cd "$2" && pwd)
apt="$root.apt"

for tool in apt-get dpkg-deb realpath; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "picmd: $tool is needed to assemble the $arch sysroot" >&2
		exit 1
	}
done

mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$apt/preferences.d"
: >"$apt/status"
# Read after the machine's apt.conf(.d) (-c), so proxies and the like still
# apply; what follows wins.
cat >"$apt/apt.conf" <<EOF
#clear APT::Architectures;
APT::Architecture "$arch";
APT::Architectures { "$arch"; };
Dir::State "$apt";
Dir::State::lists "$apt/lists";
Dir::State::status "$apt/status";
Dir::State::extended_states "$apt/extended_states";
Dir::Cache "$apt";
Dir::Cache::archives "$apt/archives";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Dir::Etc::Preferences "/dev/null";
Dir::Etc::PreferencesParts "$apt/preferences.d";
APT::Install-Recommends "false";
APT::Install-Suggests "false";
APT::Sandbox::User "root";
Acquire::Languages "none";
#clear APT::Update::Pre-Invoke;
#clear APT::Update::Post-Invoke;
#clear APT::Update::Post-Invoke-Success;
#clear DPkg::Pre-Invoke;
#clear DPkg::Post-Invoke;
EOF
if [ -n "$suite" ]; then
	mirror=$("$(dirname "$0")/debian-mirror.sh")
	security=$(echo "$mirror" | sed 's|/debian$|/debian-security|')
	mkdir -p "$apt/sources.list.d"
	cat >"$apt/sources.list" <<EOF
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security $suite-security main
EOF
	cat >>"$apt/apt.conf" <<EOF
Dir::Etc::SourceList "$apt/sources.list";
Dir::Etc::SourceParts "$apt/sources.list.d";
EOF
fi

echo "picmd: assembling the $arch sysroot${suite:+ of $suite} in $root" >&2
# The machine's sources (/etc/apt/sources.list and sources.list.d), read
# for $arch.  A list that fails (a mirror caught mid-sync, a source without
# $arch) is skipped with a warning; the download below fails if what is
# left cannot provide every package.
if ! apt-get -q -c "$apt/apt.conf" update >"$apt/update.log" 2>&1; then
	if ! ls "$apt/lists/"*_Packages* >/dev/null 2>&1; then
		cat "$apt/update.log" >&2
		echo "picmd: apt-get update for $arch failed" >&2
		exit 1
	fi
	echo "picmd: warning: some $arch package lists failed; using the rest:" >&2
	grep '^[EW]: ' "$apt/update.log" | sed 's/^/    /' >&2 || true
fi
# The closure against an empty dpkg status: every package these need.
rm -f "$apt/archives"/*.deb
# shellcheck disable=SC2086
apt-get -q -y -c "$apt/apt.conf" install --download-only $packages \
	>"$apt/download.log" 2>&1 || {
	cat "$apt/download.log" >&2
	echo "picmd: downloading the $arch packages failed" >&2
	exit 1
}

# Unpack into an empty tree, then swap it in: a failure leaves no stamp.
rm -rf "$root.new"
mkdir -p "$root.new"
n=0
for deb in "$apt/archives"/*.deb; do
	dpkg-deb -x "$deb" "$root.new"
	# shellcheck disable=SC2016
	dpkg-deb --show --showformat='${Package} ${Version}\n' "$deb" \
		>>"$root.new/.picmd-sysroot"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "picmd: no $arch packages downloaded" >&2; exit 1; }

# From Debian 13 on, packages ship their libraries in /usr/lib only, and
# /lib is merged /usr's link (which base-files makes, not unpacked here);
# linker scripts such as libc.so still name /lib/<triplet>/libc.so.6.
if [ ! -e "$root.new/lib" ]; then
	ln -s usr/lib "$root.new/lib"
fi

# /usr/lib/<triplet>/libm.so -> /lib/<triplet>/libm.so.6 and the like:
# relative to the link, so they point into the sysroot.
find "$root.new" -type l -lname '/*' | while read -r link; do
	target=$(readlink "$link")
	rel=$(realpath -s -m --relative-to="$(dirname "$link")" \
		"$root.new$target")
	ln -sfn "$rel" "$link"
done

# Without a cache of its own, ld.so under qemu -L would read the machine's
# /etc/ld.so.cache (and skip its entries): an empty one, and the default
# directories are searched.
mkdir -p "$root.new/etc"
: >"$root.new/etc/ld.so.cache"

rm -rf "$root"
mv "$root.new" "$root"
rm -f "$apt/archives"/*.deb
echo "picmd: $arch sysroot ready: $n packages" >&2
