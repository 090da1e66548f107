#!/bin/bash
# The VM leg's checks inside the guest (docs/TESTING.md), run as root by
# picmd-vmtest.service once the guest is up; the guest powers off when
# this ends.  Everything it needs is on the host's 9p share, /mnt/share:
#
#   picmd_*.deb        the package for this release
#   test_gpio_chip     the project's gpio-sim unit test and commands/ (its
#                      plugins), built in the same release's root
#   lan.conf           the project's LAN drop-in (systemd/dropins/lan.conf)
#   token              the token of the TCP listener the host checks
#
# It appends one line per check to /mnt/share/results ("PASS name",
# "FAIL name: why", "INFO text"), which the host prints as they come.  For
# the host's own checks through the forwarded port it writes
# /mnt/share/host-ready and waits for /mnt/share/host-done.  Every wait is
# bounded; a check that fails does not stop the others.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LANG=C.UTF-8 SYSTEMD_PAGER='' SYSTEMD_COLORS=0
share=/mnt/share
results=$share/results
port=15769	# the package's loopback listener
lanport=15770	# the TCP listener the host reaches through qemu's forward

say() { echo "$*" >>"$results"; echo "picmd-vm: $*"; }
pass() { say "PASS $1"; }
fail() { say "FAIL $1: $2"; }
info() { say "INFO $*"; }
# check NAME COMMAND...: PASS when the command succeeds, else FAIL with
# its output.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then pass "$name"
	else fail "$name" "$(echo "$out" | tail -n 5 | tr '\n' ' ')"; fi
}
# expect NAME WANT GOT: GOT must match the extended regex WANT.
expect() {
	if echo "$3" | grep -Eq -- "$2"; then pass "$1"
	else fail "$1" "expected /$2/, got: $(echo "$3" | head -n 5 | tr '\n' ' ')"; fi
}
# wait_for SECONDS COMMAND...: until the command succeeds, polling.
wait_for() {
	local end=$(( $(date +%s) + $1 ))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 0.2
	done
}
q() { timeout 30 picmd -H 127.0.0.1 -p $port "$@" 2>&1; }
mainpid() { systemctl show -p MainPID --value picmd; }
# signal SIG PID: never to 0 or 1 (no main process must not mean "everyone").
signal() { [ "${2:-0}" -gt 1 ] && kill "-$1" "$2"; }
active() { [ "$(systemctl is-active picmd)" = active ]; }
# A new main process, up and ready, other than $1.
restarted_from() {
	local p
	p=$(mainpid)
	[ "$p" != 0 ] && [ "$p" != "$1" ] && active && q PING | grep -q PONG
}

: >"$results"
. /etc/os-release
info "guest: Debian $VERSION_ID ($VERSION_CODENAME), kernel $(uname -r), $(nproc) CPUs"
info "checks start $(cut -d' ' -f1 /proc/uptime) s after the kernel started"
state=$(systemctl is-system-running 2>&1)
info "system state: $state"
[ "$state" = running ] || systemctl --failed --no-legend --plain | while read -r u _; do
	info "failed unit: $u"
done

# ---- the kernel's gpio-sim and the project's own chip test -----------------
if modprobe gpio-sim 2>/dev/null || [ -d /sys/kernel/config/gpio-sim ]; then
	pass "gpio-sim module loads ($(modinfo -F filename gpio-sim 2>/dev/null | sed 's|.*/kernel/||; s|.*/updates/|updates/|'))"
else
	fail "gpio-sim module loads" "$(modprobe gpio-sim 2>&1)"
fi
mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config
if [ -x $share/test_gpio_chip ]; then
	mkdir -p /root/picmd/build/commands
	install -m 0644 $share/commands/*.so /root/picmd/build/commands/
	out=$(cd /root && TMPDIR=/var/tmp timeout 300 $share/test_gpio_chip 2>&1)
	rc=$?
	echo "$out" >$share/test_gpio_chip.log
	if [ $rc -eq 0 ] && echo "$out" | grep -q '^\[       OK \] test_gpiosim$'; then
		pass "unit test test_gpio_chip: test_gpiosim ran on the kernel's gpio-sim ($(echo "$out" | grep -c '^\[       OK \]') passed)"
	else
		fail "unit test test_gpio_chip on the real gpio-sim chip" \
			"exit $rc; $(echo "$out" | grep -E 'SKIPPED|FAILED|skipped|Error' | head -n 3 | tr '\n' ' ')"
	fi
else
	info "test_gpio_chip not shipped (prebuilt package): skipped"
fi

# i2c-stub: a real I2C adapter (SMBus only, like a PC's controller), loaded
# before the package so that its udev rule must be applied to a bus that
# is already there.  Two devices: 0x50 for i2c-tools here, 0x48 for the
# i2c plugin's checks through the service below.
bus=""
modprobe -r i2c-stub 2>/dev/null
if modprobe i2c-dev && modprobe i2c-stub chip_addr=0x48,0x50; then
	bus=$(i2cdetect -l | awk '/SMBus stub/ { sub("i2c-", "", $1); print $1; exit }')
	i2cset -y "$bus" 0x50 0x10 0xa5 b 2>/dev/null
	expect "i2c-stub: an I2C adapter that i2c-tools can use (i2c-${bus:-?})" '^0xa5$' \
		"$(i2cget -y "${bus:-0}" 0x50 0x10 b 2>&1)"
else
	fail "i2c-stub loads" "$(modprobe i2c-stub chip_addr=0x48,0x50 2>&1)"
fi

# ---- install ----------------------------------------------------------------
deb=$(ls $share/picmd_*.deb | head -n 1)
cp "$deb" /var/tmp/
deb=/var/tmp/$(basename "$deb")
check "apt install ./$(basename "$deb") (offline)" \
	timeout 300 apt-get install -y -q "$deb"
check "user picmd exists, in groups gpio, i2c and spi" \
	sh -c 'g=$(id -nG picmd) && echo "$g" | grep -qw gpio && echo "$g" | grep -qw i2c && echo "$g" | grep -qw spi'
expect "the package's version names the release (+deb$VERSION_ID)" "\+deb$VERSION_ID\$" \
	"$(dpkg-query -W -f='${Version}' picmd)"
gpiod_lib=libgpiod2
[ "$VERSION_ID" -ge 13 ] && gpiod_lib=libgpiod3
expect "it depends on $gpiod_lib (from shlibs)" "$gpiod_lib" \
	"$(dpkg-query -W -f='${Depends}' picmd)"
if [ "$VERSION_ID" -ge 13 ]; then
	expect "no file under /lib (merged /usr)" '^0$' "$(dpkg -L picmd | grep -c '^/lib/')"
fi
check "picmd.service enabled" systemctl is-enabled picmd
wait_for 60 active
expect "picmd.service active after install" '^active$' "$(systemctl is-active picmd)"
expect "Type=notify readiness reached (status text)" \
	'listeners' "$(systemctl show -p StatusText --value picmd)"
expect "the daemon answers PING" 'PONG' "$(q PING)"

# ---- a Pi-shaped gpio-sim chip ---------------------------------------------
# The package's udev rule gives the chip to group gpio.
sim=/sys/kernel/config/gpio-sim/pi
mkdir $sim $sim/gpio-bank0
echo 54 >$sim/gpio-bank0/num_lines
echo pinctrl-bcm2711 >$sim/gpio-bank0/label
for i in $(seq 0 53); do
	mkdir $sim/gpio-bank0/line$i
	echo GPIO$i >$sim/gpio-bank0/line$i/name
done
echo 1 >$sim/live
chip=$(cat $sim/gpio-bank0/chip_name)
simdir=/sys/devices/platform/$(cat $sim/dev_name)/$chip
udevadm settle --timeout=60
info "gpio-sim chip $chip ($simdir)"
expect "/dev/$chip is a character device of group gpio, mode 660" \
	'^crw-rw---- gpio$' "$(stat -c '%A %G' /dev/$chip 2>&1)"
if [ "$(stat -c %G /dev/$chip 2>&1)" != gpio ]; then
	info "udev rules for gpio: $(grep -l gpiochip /etc/udev/rules.d/* /lib/udev/rules.d/* /usr/lib/udev/rules.d/* 2>/dev/null | tr '\n' ' ')"
	info "group gpio: $(getent group gpio)"
	journalctl -b -u systemd-udevd --no-pager 2>&1 | tail -n 8 | while read -r l; do info "udevd: $l"; done
	udevadm test "$(udevadm info -q path /dev/$chip)" 2>&1 | grep -iE 'group|mode|60-picmd' | head -n 8 |
		while read -r l; do info "udevadm test: $l"; done
fi
systemctl restart picmd
wait_for 60 active
expect "gpio chip: backend=chip, the Pi header chip picked by chip = auto" \
	"^backend=chip name=$chip label=pinctrl-bcm2711 lines=54\$" "$(q gpio chip)"

simval() { cat $simdir/sim_gpio$1/value; }
simpull() { cat $simdir/sim_gpio$1/pull; }
expect "gpio write 17 1" '^$' "$(q gpio write 17 1)"
expect "  the simulator sees line 17 driven high" '^1$' "$(simval 17)"
q gpio write 17 0 >/dev/null
expect "  gpio write 17 0: driven low" '^0$' "$(simval 17)"
expect "gpio info 17: output held by picmd" 'direction=out .*used=yes consumer=picmd' "$(q gpio info 17)"
expect "gpio mode 22 in pull-up" '^$' "$(q gpio mode 22 in pull-up)"
expect "  the pull reaches the simulator" '^pull-up$' "$(simpull 22)"
expect "  gpio read 22 follows it: 1" '^1$' "$(q gpio read 22)"
q gpio mode 22 in pull-down >/dev/null
expect "  pull-down reaches the simulator" '^pull-down$' "$(simpull 22)"
expect "  gpio read 22: 0" '^0$' "$(q gpio read 22)"
q gpio release 22 >/dev/null
echo pull-up >$simdir/sim_gpio27/pull
expect "gpio read 27 follows the simulator's pull-up" '^1$' "$(q gpio read 27)"
echo pull-down >$simdir/sim_gpio27/pull
expect "gpio read 27 follows the simulator's pull-down" '^0$' "$(q gpio read 27)"
# A 3 s pulse: seen high on the simulator's side while it lasts, low after.
q gpio pulse 5 3000 1 >/var/tmp/pulse.out &
pulse=$!
if wait_for 2.5 sh -c "[ \$(cat $simdir/sim_gpio5/value) = 1 ]"; then
	pass "gpio pulse 5 3000: line 5 high mid-pulse"
else
	fail "gpio pulse 5 3000: line 5 high mid-pulse" "never saw 1"
fi
wait $pulse
expect "  the pulse answered OK and restored line 5 low" '^$ 0$' "$(cat /var/tmp/pulse.out) $(simval 5)"
# A line another program holds.
case "$VERSION_CODENAME" in
bookworm) gpioset --mode=signal $chip 23=1 & ;;
*) gpioset -c $chip 23=1 & ;;
esac
holder=$!
wait_for 10 sh -c "gpioinfo $chip 2>/dev/null | grep -E '^[[:space:]]*line[[:space:]]+23:' | grep -q gpioset"
expect "a line held by gpioset: ERR DEVICE ... (in use by gpioset)" \
	'^DEVICE line 23: .*\(in use by gpioset\)$' "$(q gpio write 23 0)"
kill $holder; wait $holder 2>/dev/null
expect "an offset past the end: ERR DEVICE ... out of range" \
	'^DEVICE line 60: out of range' "$(q gpio read 60)"

# ---- the Python package -------------------------------------------------------
pydeb=$(ls $share/python3-picmd_*.deb 2>/dev/null | head -n 1)
if [ -n "$pydeb" ]; then
	cp "$pydeb" /var/tmp/
	check "apt install ./$(basename "$pydeb") (offline)" \
		timeout 300 apt-get install -y -q "/var/tmp/$(basename "$pydeb")"
	expect "python3-picmd: gpio write and read on the chip through the service's Unix socket" \
		'^1 1$' "$(timeout 30 python3 -c '
import picmd
with picmd.Client(unix="/run/picmd/picmd.sock") as c:
    c.call("gpio", "write", 25, 1)
    print(c.call("gpio", "read", 25), open("'"$simdir"'/sim_gpio25/value").read().strip())
' 2>&1)"
	expect "python3-picmd: its gpiozero pin factory entry point" 'picmd.gpiozero:PicmdFactory' \
		"$(python3 -c 'import importlib.metadata as m; print([e.value for e in m.entry_points(group="gpiozero_pin_factories")])' 2>&1)"
else
	fail "python3-picmd" "no python3-picmd package in the share"
fi

# ---- the pigpio front-end on the real chip -----------------------------------
# pigpio's protocol spoken with bash alone (the guest image has no pigpio
# client installed): the package's service with [pigpio] listen drives
# the gpio-sim chip.  The configuration is put back afterwards.
pgport=8888
le32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) \
	$(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
# pg CMD P1 P2: one request on its own connection; prints the result.
pg() {
	local r
	exec 3<>/dev/tcp/127.0.0.1/$pgport || return 1
	printf "$(le32 "$1")$(le32 "$2")$(le32 "$3")$(le32 0)" >&3
	r=$(timeout 10 head -c 16 <&3 | od -An -t d4 -j 12 -N 4 | tr -d ' ')
	exec 3<&-
	echo "$r"
}
cp /etc/picmd/picmd.ini /var/tmp/picmd.ini.orig
printf '\n[pigpio]\nlisten = 127.0.0.1:%s\nhwver = 0xd04170\npins = 17 22 24\n' \
	$pgport >>/etc/picmd/picmd.ini
check "picmdd -t accepts [pigpio]" picmdd -t -c /etc/picmd/picmd.ini
systemctl restart picmd
wait_for 60 active
wait_for 30 sh -c "journalctl -u picmd -b --no-pager | grep -q 'listening on 127.0.0.1:$pgport (pigpio)'"
expect "pigpio HWVER: the configured revision" '^13648240$' "$(pg 17 0 0)"
expect "pigpio WRITE 24 1" '^0$' "$(pg 4 24 1)"
expect "  the simulator sees line 24 high" '^1$' "$(simval 24)"
expect "  pigpio READ 24" '^1$' "$(pg 3 24 0)"
expect "pigpio MODES 22 input, PUD 22 up" '^0 0$' "$(pg 0 22 0) $(pg 2 22 2)"
expect "  the pull reaches the simulator" '^pull-up$' "$(simpull 22)"
expect "  pigpio READ 22: 1" '^1$' "$(pg 3 22 0)"
expect "  pigpio MODEG 22: input" '^0$' "$(pg 1 22 0)"
expect "pigpio WRITE 23 (not in pins): PI_NOT_PERMITTED" '^-41$' "$(pg 4 23 1)"
expect "pigpio WRITE 60: PI_BAD_GPIO" '^-3$' "$(pg 4 60 1)"
pg 5 24 128 >/dev/null
saw=$(for i in $(seq 1 200); do simval 24; done | sort -u | tr -d '\n')
expect "pigpio PWM 24 128: the simulator sees it toggle" '^01$' "$saw"
expect "  pigpio WRITE 24 0 ends it" '^0 0$' "$(pg 4 24 0) $(sleep 0.1; simval 24)"
cp /var/tmp/picmd.ini.orig /etc/picmd/picmd.ini
systemctl restart picmd
wait_for 60 active

# ---- the i2c plugin on i2c-stub -------------------------------------------
# The stub cannot do plain I2C transfers: the plugin's SMBus stand-ins
# (docs/DEVICES.md) carry each command.  Its devices at 0x48 and 0x50
# acknowledge, nothing else does (i2c-stub answers ENODEV).
if [ -n "$bus" ]; then
	expect "/dev/i2c-$bus is a character device of group i2c, mode 660" \
		'^crw-rw---- i2c$' "$(stat -c '%A %G' /dev/i2c-$bus 2>&1)"
	expect "i2c buses lists the stub as i2c-$bus" \
		"(^| )$bus:SMBus_stub_driver( |\$)" "$(q i2c buses)"
	expect "i2c writereg $bus 0x48 0x10 a5" '^$' "$(q i2c writereg $bus 0x48 0x10 a5)"
	expect "  i2c readreg $bus 0x48 0x10: a5" '^a5$' "$(q i2c readreg $bus 0x48 0x10)"
	expect "  i2cget reads the same register" '^0xa5$' "$(i2cget -y "$bus" 0x48 0x10 b 2>&1)"
	i2cset -y "$bus" 0x48 0x11 0x5a b 2>/dev/null
	expect "i2c readreg $bus 0x48 0x10 2: with what i2cset wrote (an I2C block read)" \
		'^a5 5a$' "$(q i2c readreg $bus 0x48 0x10 2)"
	expect "i2c read $bus 0x49 1: ERR DEVICE ... no acknowledgement" \
		"^DEVICE i2c-$bus 0x49: no acknowledgement" "$(q i2c read $bus 0x49 1)"
	expect "i2c scan over TCP without the admin token: DENIED" \
		'^DENIED admin command' "$(q i2c scan "$bus")"
	expect "i2c scan $bus over the trusted Unix socket: the stub's two devices" \
		'^0x48 0x50$' "$(timeout 30 picmd -u /run/picmd/picmd.sock i2c scan "$bus" 2>&1)"
else
	fail "the i2c plugin on i2c-stub" "no i2c-stub bus (see above)"
fi
# No spidev without a device tree: the plugin is there and finds none.
expect "spi devices: none in this guest" '^$' "$(q spi devices)"

# ---- the sandbox -------------------------------------------------------------
pid=$(mainpid)
check "the service's /dev holds /dev/$chip" test -c /proc/$pid/root/dev/$chip
[ -n "$bus" ] && check "the service's /dev holds /dev/i2c-$bus" test -c /proc/$pid/root/dev/i2c-$bus
check "the service's /dev has no /dev/mem" test ! -e /proc/$pid/root/dev/mem
check "the service's /dev has no /dev/vda" test ! -e /proc/$pid/root/dev/vda
ro=""
for d in /etc /usr /var/lib /var/log /root /boot /srv; do
	nsenter -t "$pid" -m -- sh -c "touch $d/.picmd-probe" 2>/dev/null && ro="$ro $d"
	rm -f "$d/.picmd-probe"
done
expect "the service's file system is read-only outside /run/picmd" '^$' "$ro"
check "  but /run/picmd is writable" nsenter -t "$pid" -m -- sh -c 'touch /run/picmd/.probe && rm /run/picmd/.probe'
nsenter -t "$pid" -m -- sh -c 'touch /tmp/.picmd-probe /var/tmp/.picmd-probe' 2>/dev/null
expect "  and its /tmp, /var/tmp are its own (PrivateTmp)" '^$' \
	"$(ls /tmp/.picmd-probe /var/tmp/.picmd-probe 2>/dev/null)"
expect "the daemon runs as picmd with no capabilities" '^picmd 0000000000000000$' \
	"$(ps -o user= -p "$pid") $(sed -n 's/^CapEff:[[:space:]]*//p' /proc/$pid/status)"
level=$(systemd-analyze security --no-pager picmd 2>&1 | sed -n 's/.*Overall exposure level for picmd.service: \([0-9.]*\).*/\1/p')
if [ -n "$level" ] && awk -v l="$level" 'BEGIN { exit !(l <= 1.1) }'; then
	pass "systemd-analyze security picmd: $level (at most 1.1)"
else
	fail "systemd-analyze security picmd at most 1.1" "got '${level:-nothing}'"
fi

# ---- the journal -----------------------------------------------------------
expect "the journal has the daemon's log at priority info" 'ready: ' \
	"$(journalctl -u picmd -p info..info -o cat --no-pager _PID=$pid)"
expect "  and nothing at error or worse" '^$' \
	"$(journalctl -u picmd -p err -o cat --no-pager _COMM=picmdd)"

# ---- reload, restart, crash, freeze ---------------------------------------
before="" after=""
exec 3<>/dev/tcp/127.0.0.1/$port
echo PING >&3; read -r -t 10 before <&3
sed -i 's/^level = info/level = debug/' /etc/picmd/picmd.ini
systemctl reload picmd
echo PING >&3; read -r -t 10 after <&3
expect "systemctl reload keeps the connection and the process" \
	"^OK PONG.OK PONG.$pid\$" "$(echo "$before" | tr -d '\r').$(echo "$after" | tr -d '\r').$(mainpid)"
exec 3>&-
since=$(date '+%Y-%m-%d %H:%M:%S')
q PING >/dev/null
sleep 1
expect "  the new log level applies (debug messages in the journal)" 'client .* connected' \
	"$(journalctl -u picmd -p debug..debug -o cat --no-pager --since "$since")"
sed -i 's/^level = debug/level = info/' /etc/picmd/picmd.ini
systemctl reload picmd

systemctl reset-failed picmd
pid=$(mainpid)
systemctl restart picmd
wait_for 60 restarted_from "$pid"
expect "systemctl restart: a new, ready process" '^yes$' "$(restarted_from "$pid" && echo yes)"

# A failsafe on_start: a daemon that crashed comes up with the output
# safe, before it listens.
printf '[failsafe]\non_start = gpio write 24 0\n' >>/etc/picmd/picmd.ini
q gpio write 24 1 >/dev/null
expect "gpio write 24 1 (before the crash)" '^1$' "$(simval 24)"
systemctl reset-failed picmd
pid=$(mainpid); n0=$(systemctl show -p NRestarts --value picmd)
signal KILL "$pid"
if wait_for 60 restarted_from "$pid"; then
	pass "kill -9: restarted by Restart=on-failure (NRestarts $n0 -> $(systemctl show -p NRestarts --value picmd))"
else
	fail "kill -9: restarted by Restart=on-failure" "state $(systemctl is-active picmd), MainPID $(mainpid)"
fi
expect "  the failsafe on_start ran in the new process" \
	'failsafe on_start: gpio write 24 0: OK' \
	"$(journalctl -u picmd -o cat --no-pager "_PID=$(mainpid)")"
expect "  and line 24 is low again" '^0$' "$(simval 24)"

systemctl reset-failed picmd
pid=$(mainpid)
wdog=$(systemctl show -p WatchdogUSec --value picmd)
t0=$(date +%s)
signal STOP "$pid"
if wait_for 90 restarted_from "$pid"; then
	dt=$(( $(date +%s) - t0 ))
	if journalctl -u picmd -o cat --no-pager | grep -qi 'watchdog timeout'; then
		pass "kill -STOP: the watchdog ($wdog) killed and restarted it after ${dt} s"
	else
		fail "kill -STOP: watchdog restart" "restarted after ${dt} s, but no watchdog timeout in the journal"
	fi
else
	fail "kill -STOP: watchdog restart" "not restarted within 90 s (WatchdogSec $wdog)"
	signal CONT "$pid" 2>/dev/null
fi

# ---- socket activation ------------------------------------------------------
systemctl reset-failed picmd
systemctl stop picmd
systemctl enable --now picmd.socket >/dev/null 2>&1
expect "with picmd.socket and the service stopped: inactive" '^inactive$' "$(systemctl is-active picmd)"
expect "  a connection starts it and is answered" 'PONG' "$(q PING)"
expect "  the service is then active" '^active$' "$(systemctl is-active picmd)"
expect "  serving systemd's sockets" 'socket activation' \
	"$(journalctl -u picmd -o cat --no-pager "_PID=$(mainpid)")"
systemctl stop picmd picmd.socket
systemctl disable picmd.socket >/dev/null 2>&1
systemctl start picmd
wait_for 60 active

# ---- the TCP listener, from the host ---------------------------------------
install -m 0640 -g picmd $share/token /etc/picmd/token
sed -i "s|^listen = .*|listen = 127.0.0.1:$port, 0.0.0.0:$lanport, unix:/run/picmd/picmd.sock|" /etc/picmd/picmd.ini
sed -i 's|^\[security\]$|[security]\ntoken_file = /etc/picmd/token\nallow = 10.0.2.0/24, 127.0.0.0/8|' /etc/picmd/picmd.ini
mkdir -p /etc/systemd/system/picmd.service.d
sed 's|^IPAddressAllow=.*|IPAddressAllow=10.0.2.0/24|' $share/lan.conf >/etc/systemd/system/picmd.service.d/lan.conf
systemctl daemon-reload
systemctl reset-failed picmd
systemctl restart picmd
wait_for 60 active
check "picmdd -t accepts the LAN listener with a token" picmdd -t -c /etc/picmd/picmd.ini
expect "a loopback client needs the token too" 'DENIED' "$(q gpio chip)"
expect "  and is served with it" '^backend=chip' "$(q -a /etc/picmd/token gpio chip)"
touch $share/host-ready
# The host watches line 23 and subscribes to it, then asks for edges: the
# simulator makes them by pulling the line up, then (once the host has
# the rising edge) down.
if wait_for 180 sh -c "test -e $share/edge-go || test -e $share/host-done" &&
    [ -e $share/edge-go ]; then
	echo pull-up >$simdir/sim_gpio23/pull
	# The host says when the rising edge is in: two pulls in a row may
	# reach the kernel as one interrupt (one falling event).
	wait_for 60 test -e $share/edge-rising
	echo pull-down >$simdir/sim_gpio23/pull
	touch $share/edge-done
fi
if wait_for 180 test -e $share/host-done; then
	expect "the host's authenticated 'gpio write 18 1' reached the chip" '^1$' "$(simval 18)"
	expect "the journal has the host's wrong token, at priority warning" \
		'client 10\.0\.2\.2:[0-9]+: wrong token' \
		"$(journalctl -u picmd -o cat --no-pager -p warning..warning)"
else
	fail "the host's checks" "no host-done within 180 s"
fi
rm -f /etc/systemd/system/picmd.service.d/lan.conf
# A token owned by group picmd would keep the user on purge (postrm).
rm -f /etc/picmd/token

# ---- purge ---------------------------------------------------------------------
check "apt purge picmd" timeout 300 apt-get purge -y -q picmd
expect "  the picmd user is gone" '^$' "$(getent passwd picmd)"
expect "  no unit, no configuration left" '^inactive.no$' \
	"$(systemctl is-active picmd).$(test -e /etc/picmd && echo yes || echo no)"

journalctl -b --no-pager >$share/journal.txt 2>&1
touch $share/done
sync
