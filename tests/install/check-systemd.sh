#!/bin/sh
# Check the systemd files (make check-systemd; docs/SERVICE.md).
# usage: tests/install/check-systemd.sh MAX_EXPOSURE "MAKE [ARGS]"
#
# 1. systemd-analyze security --offline=true systemd/picmd.service: the
#    overall exposure must be at most MAX_EXPOSURE.
# 2. systemd-analyze verify on the units as "make install-files" writes
#    them for PREFIX=/usr and PREFIX=/usr/local, with the example drop-ins
#    of systemd/dropins/ applied, must print nothing (verify exits 0 even
#    on an unknown key, so its output is what counts).  verify wants the
#    programs the unit runs to exist, and --root= would need a whole
#    systemd tree under the root, so the check installs into a scratch
#    DESTDIR and points the copies of the units it verifies at the
#    installed picmdd (the only path that differs); man pages are looked
#    up in the scratch tree through MANPATH.
# 3. systemd-sysusers and systemd-tmpfiles apply the snippets to an empty
#    scratch root: user picmd, in groups gpio, i2c, spi and dialout,
#    owns /run/picmd, mode 0750.
#
# Run from the top of the source tree, after a build.  Without
# systemd-analyze (no systemd package) it says so and succeeds.
set -eu

max=${1:?usage: $0 MAX_EXPOSURE MAKE}
make=${2:?usage: $0 MAX_EXPOSURE MAKE}

if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "check-systemd: systemd-analyze is not installed (package systemd); skipped"
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/picmd-systemd.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
failed=0

fail() {
	echo "check-systemd: FAIL: $*" >&2
	failed=1
}

# 1. Exposure.
out=$(systemd-analyze security --offline=true --no-pager \
	systemd/picmd.service 2>&1) || true
level=$(printf '%s\n' "$out" |
	sed -n 's/.*Overall exposure level for picmd\.service: \([0-9.]*\).*/\1/p')
if [ -z "$level" ]; then
	printf '%s\n' "$out" >&2
	fail "no exposure level from systemd-analyze security"
elif awk -v l="$level" -v m="$max" 'BEGIN { exit !(l > m) }'; then
	printf '%s\n' "$out" | grep '✗' >&2 || true
	fail "picmd.service exposure $level is above $max"
else
	echo "check-systemd: picmd.service exposure $level (at most $max)"
fi

# 2. verify, on the installed units.
if command -v man >/dev/null 2>&1; then man_opt=--man=yes; else man_opt=--man=no; fi
for prefix in /usr /usr/local; do
	name=$(echo "$prefix" | tr / _)
	dest=$tmp/dest$name
	$make install-files DESTDIR="$dest" PREFIX="$prefix" >"$tmp/install.log" 2>&1 || {
		cat "$tmp/install.log" >&2
		fail "make install-files PREFIX=$prefix"
		continue
	}
	unit=$(find "$dest" -name picmd.service -type f)
	if [ "$(echo "$unit" | wc -l)" != 1 ] || [ -z "$unit" ]; then
		fail "PREFIX=$prefix: expected one installed picmd.service, found: $unit"
		continue
	fi
	grep -q "^ExecStart=$prefix/sbin/picmdd -c /etc/picmd/picmd.ini\$" "$unit" ||
		fail "PREFIX=$prefix: ExecStart= does not run $prefix/sbin/picmdd"
	dir=$tmp/verify$name
	mkdir -p "$dir/picmd.service.d"
	sed "s|$prefix/sbin/picmdd|$dest$prefix/sbin/picmdd|g" "$unit" >"$dir/picmd.service"
	cp "$(dirname "$unit")/picmd.socket" "$dir/"
	cp systemd/dropins/*.conf "$dir/picmd.service.d/"
	out=$(cd "$dir" && MANPATH="$dest$prefix/share/man" systemd-analyze verify \
		"$man_opt" "$dir/picmd.service" "$dir/picmd.socket" 2>&1) || {
		printf '%s\n' "$out" >&2
		fail "systemd-analyze verify failed (PREFIX=$prefix)"
		continue
	}
	if [ -n "$out" ]; then
		printf '%s\n' "$out" >&2
		fail "systemd-analyze verify is not clean (PREFIX=$prefix)"
	else
		echo "check-systemd: verify clean: picmd.service picmd.socket" \
			"$(cd systemd/dropins && echo *.conf) (PREFIX=$prefix)"
	fi
done

# 3. sysusers.d and tmpfiles.d snippets.
if command -v systemd-sysusers >/dev/null 2>&1 &&
    command -v systemd-tmpfiles >/dev/null 2>&1; then
	root=$tmp/root
	mkdir -p "$root/etc" "$root/usr/lib/sysusers.d" "$root/usr/lib/tmpfiles.d"
	cp systemd/picmd.sysusers "$root/usr/lib/sysusers.d/picmd.conf"
	cp systemd/picmd.tmpfiles "$root/usr/lib/tmpfiles.d/picmd.conf"
	if ! systemd-sysusers --root="$root" >"$tmp/su.log" 2>&1; then
		cat "$tmp/su.log" >&2
		fail "systemd-sysusers"
	elif ! systemd-tmpfiles --root="$root" --create >"$tmp/tf.log" 2>&1; then
		cat "$tmp/tf.log" >&2
		fail "systemd-tmpfiles"
	else
		uid=$(awk -F: '$1 == "picmd" { print $3 }' "$root/etc/passwd")
		members=$(awk -F: '$1 == "gpio" || $1 == "i2c" || $1 == "spi" || $1 == "dialout" {
			printf "%s%s:%s", sep, $1, $4; sep = " " }' "$root/etc/group")
		st=$(stat -c '%a %u' "$root/run/picmd" 2>/dev/null || true)
		if [ -z "$uid" ]; then
			fail "sysusers: no picmd user"
		elif [ "$members" != "gpio:picmd i2c:picmd spi:picmd dialout:picmd" ]; then
			fail "sysusers: groups and members '$members', expected picmd in gpio, i2c, spi and dialout"
		elif [ "$st" != "750 $uid" ]; then
			fail "tmpfiles: /run/picmd is '$st', expected '750 $uid'"
		else
			echo "check-systemd: sysusers and tmpfiles snippets apply"
		fi
	fi
fi

exit $failed
