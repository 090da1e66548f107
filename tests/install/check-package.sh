#!/bin/sh
# The Debian package that "make deb" just built, installed, checked and
# purged with apt, on the machine this runs on (tools/suite-test.sh runs
# it as root in a fresh root of another release).  Without systemd as
# PID 1 the service cannot start here; what can be checked is: the
# files and where they land for this release, the dependencies, the
# user, and that the daemon accepts the installed configuration.
# tests/vm/ starts the service for real.
# usage: tests/install/check-package.sh [DEB]    (default build/deb/*.deb)
set -u

deb=${1:-$(ls build/deb/picmd_*.deb 2>/dev/null | head -n 1)}
[ -n "$deb" ] && [ -f "$deb" ] || { echo "check-package: no package (run make deb)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "check-package: needs root (apt install)" >&2; exit 1; }
case "$deb" in /*) ;; *) deb=./$deb ;; esac

passed=0
failed=0
check() {
	name=$1
	shift
	if out=$("$@" 2>&1); then
		echo "ok   $name"
		passed=$((passed + 1))
	else
		echo "FAIL $name"
		echo "$out" | sed 's/^/     /'
		failed=$((failed + 1))
	fi
}

. /etc/os-release
echo "check-package: $deb on $PRETTY_NAME"
# The units go where this release's systemd looks for them; no file
# under /lib (merged /usr: Debian 13's lintian calls it aliased-location).
unitdir=/usr/lib/systemd/system
[ "${VERSION_ID:-}" = 12 ] && unitdir=/lib/systemd/system

export DEBIAN_FRONTEND=noninteractive
check "apt install $deb" apt-get install -y -q "$deb"
check "the version names the release (+deb$VERSION_ID)" \
	sh -c "dpkg-query -W -f='\${Version}' picmd | grep -q '+deb${VERSION_ID}\$'"
gpiod_lib=libgpiod2
[ "${VERSION_ID:-}" -ge 13 ] 2>/dev/null && gpiod_lib=libgpiod3
check "depends on $gpiod_lib (from shlibs)" \
	sh -c "dpkg-query -W -f='\${Depends}' picmd | grep -q '$gpiod_lib'"
check "the service unit in $unitdir" test -f "$unitdir/picmd.service"
check "the socket unit in $unitdir" test -f "$unitdir/picmd.socket"
udevdir=$(dirname "$(dirname "$unitdir")")/udev/rules.d
check "the udev rule for /dev/gpiochip* in $udevdir" \
	grep -q 'KERNEL=="gpiochip\*", GROUP="gpio"' "$udevdir/60-picmd.rules"
check "the udev rules for /dev/i2c-* and /dev/spidev*" sh -c \
	"grep -q 'GROUP=\"i2c\"' '$udevdir/60-picmd.rules' && grep -q 'GROUP=\"spi\"' '$udevdir/60-picmd.rules'"
if [ "$unitdir" = /usr/lib/systemd/system ]; then
	check "nothing under /lib" sh -c "! dpkg -L picmd | grep -q '^/lib/'"
fi
check "the daemon, client and plugins" sh -c \
	"test -x /usr/sbin/picmdd && test -x /usr/bin/picmd && test -f /usr/lib/picmd/commands/gpio.so"
check "the configuration /etc/picmd/picmd.ini" test -f /etc/picmd/picmd.ini
check "the picmd system user" sh -c "getent passwd picmd | grep -q nologin"
check "user picmd in groups gpio, i2c and spi (the unit needs all three)" sh -c \
	'g=" $(id -nG picmd) " && case "$g" in *" gpio "*) ;; *) exit 1 ;; esac &&
	 case "$g" in *" i2c "*) ;; *) exit 1 ;; esac && case "$g" in *" spi "*) ;; *) exit 1 ;; esac'
check "the service is enabled" test -L /etc/systemd/system/multi-user.target.wants/picmd.service
check "picmdd -t accepts the installed configuration (as user picmd)" \
	setpriv --reuid=picmd --regid=picmd --init-groups /usr/sbin/picmdd -t
check "picmdd -V" sh -c "/usr/sbin/picmdd -V | grep -q picmdd"
check "apt purge picmd" apt-get purge -y -q picmd
check "purge removed the user" sh -c "! getent passwd picmd"
check "purge removed /etc/picmd" test ! -e /etc/picmd
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
