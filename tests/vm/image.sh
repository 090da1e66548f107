#!/bin/sh
# A bootable Debian guest for the VM leg (docs/TESTING.md), made with
# mmdebstrap from Debian's archive: systemd as PID 1, udev, the kernel
# with gpio-sim, the run-time dependencies of the package under test (so
# "apt install ./picmd_*.deb" needs no network), gpiod tools, i2c-tools and
# the unit that runs the test script from the 9p share.
# usage: tests/vm/image.sh SUITE DEB DIR
#   Leaves DIR/disk.img (ext4, no partition table: root=/dev/vda),
#   DIR/vmlinuz and DIR/initrd.img.  Made again only when the recipe
#   (this file, tests/vm/gpio-sim-oot.sh, the mirror, the package's
#   dependencies) changes.
#
#   trixie    Debian 13 with the trixie-backports kernel, which builds
#             CONFIG_GPIO_SIM as a module (and has only the v2 GPIO
#             character device interface).
#   bookworm  Debian 12 with its own 6.1 kernel; gpio-sim built out of
#             tree from linux-source-6.1 in the image's chroot
#             (tests/vm/gpio-sim-oot.sh), the build tools removed again.
# Needs root (mmdebstrap into a directory, mkfs.ext4 -d).
set -eu
cd "$(dirname "$0")/../.."

suite=${1:?usage: $0 SUITE DEB DIR}
deb=${2:?usage: $0 SUITE DEB DIR}
dir=${3:?usage: $0 SUITE DEB DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

mirror=$(tools/debian-mirror.sh)
security=$(echo "$mirror" | sed 's|/debian$|/debian-security|')

# The package's run-time dependencies, by name (alternatives: the first).
deps=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' |
	sed 's/|.*//; s/(.*)//; s/[[:space:]]//g' | grep -v '^$' | sort -u | tr '\n' ',')
# python3: what python3-picmd needs, so that it installs offline too.
base="passwd,systemd,systemd-sysv,udev,dbus,kmod,procps,iproute2,apt,gpiod,i2c-tools,libcmocka0,python3"
case "$suite" in
trixie)
	kernel="linux-image-amd64/trixie-backports"
	sources="deb $mirror trixie main|deb $mirror trixie-updates main|deb $security trixie-security main|deb $mirror trixie-backports main"
	;;
bookworm)
	kernel="linux-image-amd64"
	sources="deb $mirror bookworm main|deb $mirror bookworm-updates main|deb $security bookworm-security main"
	;;
*) echo "usage: $0 trixie|bookworm DEB DIR" >&2; exit 2 ;;
esac
packages="$base,$deps$kernel"

recipe=$( { echo "suite=$suite sources=$sources packages=$packages"
	cat tests/vm/image.sh tests/vm/guest-config.sh
	[ "$suite" = bookworm ] && cat tests/vm/gpio-sim-oot.sh; } | sha256sum | cut -d' ' -f1)
if [ -f "$dir/disk.img" ] && [ -f "$dir/vmlinuz" ] && [ -f "$dir/initrd.img" ] &&
	[ "$(cat "$dir/recipe" 2>/dev/null)" = "$recipe" ]; then
	exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "picmd-vm: making the $suite image needs root (mmdebstrap, mkfs.ext4 -d)" >&2; exit 1; }
command -v mmdebstrap >/dev/null 2>&1 && command -v mkfs.ext4 >/dev/null 2>&1 ||
	tools/deps.sh vm >&2

start=$(date +%s)
root=$dir/root
rm -rf "$root" "$dir/disk.img" "$dir/disk.new" "$dir/vmlinuz" "$dir/initrd.img" "$dir/recipe"
echo "picmd-vm: making the $suite image from $mirror" >&2

# Split the sources at "|" into arguments.
IFS='|'
# shellcheck disable=SC2086
set -- $sources
unset IFS

hook_oot="true"
[ "$suite" = bookworm ] && hook_oot="tests/vm/gpio-sim-oot.sh \"\$1\""

if ! mmdebstrap --quiet --variant=minbase --mode=root \
	--include="$packages" \
	--customize-hook="$hook_oot" \
	--customize-hook='tests/vm/guest-config.sh "$1"' \
	"$suite" "$root" "$@" >"$dir/mmdebstrap.log" 2>&1; then
	tail -n 40 "$dir/mmdebstrap.log" >&2
	echo "picmd-vm: could not make the $suite image (is Debian's archive reachable at $mirror? log: $dir/mmdebstrap.log)" >&2
	exit 1
fi

# The kernel and initrd are given to qemu directly.
vmlinuz=$(ls "$root"/boot/vmlinuz-* | sort -V | tail -n 1)
initrd=$(ls "$root"/boot/initrd.img-* | sort -V | tail -n 1)
cp "$vmlinuz" "$dir/vmlinuz"
cp "$initrd" "$dir/initrd.img"
basename "$vmlinuz" | sed 's/^vmlinuz-//' >"$dir/kernel-version"

size_mb=$(( $(du -sm "$root" | cut -f1) + 1024 ))
mkfs.ext4 -q -F -L picmd-root -d "$root" "$dir/disk.new" "${size_mb}M" >&2
rm -rf "$root"
mv "$dir/disk.new" "$dir/disk.img"
echo "$recipe" >"$dir/recipe"
echo "picmd-vm: $suite image ($(cat "$dir/kernel-version"), ${size_mb} MB) made in $(( $(date +%s) - start )) s" >&2
