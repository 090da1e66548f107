#!/bin/sh
# The Debian package of this tree for one release, built in a root of
# that release (tools/suite-root.sh) the way a user of it would:
# "make deb" (DEB_BUILD_OPTIONS=nocheck: the other legs run the tests),
# then the gpio-sim unit test (build/tests/test_gpio_chip) built there
# too, so the guest can run it against its real chip.
# usage: tests/vm/build-deb.sh SUITE OUTDIR
#   Leaves OUTDIR/picmd_*.deb, OUTDIR/test_gpio_chip and the plugins it
#   loads (OUTDIR/commands, from /root/picmd/build/commands); prints the .deb's
#   path.  Kept while the tree's files (as git sees them, uncommitted
#   changes included) and the root's recipe stay the same.
#   PICMD_VM_DEB=path uses that package instead, from OUTDIR-given/, and
#   builds nothing (the unit test is then not shipped).
# Needs root (chroot, mounts in a private namespace).
set -eu
cd "$(dirname "$0")/../.."

suite=${1:?usage: $0 SUITE OUTDIR}
out=${2:?usage: $0 SUITE OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)

if [ -n "${PICMD_VM_DEB:-}" ]; then
	[ -f "$PICMD_VM_DEB" ] || { echo "picmd-vm: PICMD_VM_DEB=$PICMD_VM_DEB: no such file" >&2; exit 1; }
	# Beside the built package's directory, which stays as it is.
	out=$out-given
	mkdir -p "$out"
	rm -rf "$out"/*.deb "$out/test_gpio_chip" "$out/commands" "$out/key"
	cp "$PICMD_VM_DEB" "$out/"
	ls "$out"/picmd_*.deb
	exit 0
fi

tar=$(tools/suite-root.sh "$suite" build/suite)

# What the package is built from: every file git knows of (or would add),
# but build/ and the VM leg's own files, and the root's recipe.
key=$( { cat "$tar.recipe"; git ls-files -z --cached --others --exclude-standard \
	-- . ':!tests/vm' |
	xargs -0 sha256sum 2>/dev/null; } | sha256sum | cut -d' ' -f1)
if [ "$(cat "$out/key" 2>/dev/null)" = "$key" ] && ls "$out"/picmd_*.deb >/dev/null 2>&1 &&
	ls "$out"/python3-picmd_*.deb >/dev/null 2>&1 && [ -d "$out/commands" ]; then
	ls "$out"/picmd_*.deb
	exit 0
fi

[ "$(id -u)" -eq 0 ] || { echo "picmd-vm: building the $suite package needs root (chroot, mounts)" >&2; exit 1; }
# The root is kept between builds, with the build dependencies "make deb"
# installed in it the first time (make test-suite checks a build in a
# fresh root); a new root when tools/suite-root.sh's recipe changes.
root=$(pwd)/build/vm/pkgroot-$suite
rm -rf "$out/key" "$out"/*.deb "$out/test_gpio_chip" "$out/commands"
if ! cmp -s "$tar.recipe" "$root/.picmd-vm-root" 2>/dev/null; then
	rm -rf "$root"
	mkdir -p "$root"
	tar -xf "$tar" -C "$root"
	cp "$tar.recipe" "$root/.picmd-vm-root"
fi
rm -rf "$root/root/picmd"
mkdir -p "$root/root/picmd"
git ls-files -z --cached --others --exclude-standard |
	tar --null -T - --ignore-failed-read -cf - 2>/dev/null |
	tar -xf - -C "$root/root/picmd"

echo "picmd-vm: building the $suite package (make deb in a $suite root)" >&2
start=$(date +%s)
tools/suite-enter.sh "$root" \
	'DEB_BUILD_OPTIONS=nocheck make deb && make build/tests/test_gpio_chip' \
	>"$out/build.log" 2>&1 || {
	tail -n 30 "$out/build.log" >&2
	echo "picmd-vm: make deb failed in the $suite root (log: $out/build.log)" >&2
	exit 1
}
cp "$root"/root/picmd/build/deb/picmd_*.deb \
	"$root"/root/picmd/build/deb/python3-picmd_*.deb "$out/"
# The test loads the plugins from the build's path in its root.
cp "$root/root/picmd/build/tests/test_gpio_chip" "$out/"
mkdir -p "$out/commands"
cp "$root"/root/picmd/build/commands/*.so "$out/commands/"
rm -rf "$root/root/picmd"
echo "$key" >"$out/key"
echo "picmd-vm: $suite package built in $(( $(date +%s) - start )) s" >&2
ls "$out"/picmd_*.deb
