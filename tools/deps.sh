#!/bin/sh
# Install the Debian packages a make target needs, when they are missing.
# usage: tools/deps.sh build|test|fuzz|valgrind|bench|cross-arm64|cross-armhf|deb|suite-root|vm
# Uses apt-get (through sudo when not root); without apt-get it names the
# packages in one line and fails.
set -eu

build="gcc make pkg-config libc6-dev libevent-dev libinih-dev libgpiod-dev libedit-dev"
# tmux: a real terminal for the client's prompt test.  gpiozero, venv, pip,
# setuptools and wheel: the Python package's tests (its pin factory, and
# "pip install ./python" into a virtual environment, offline).
test="$build libcmocka-dev python3 tmux python3-gpiozero python3-venv python3-pip python3-setuptools python3-wheel"
# libFuzzer is in Debian's compiler-rt package, next to clang's ASan/UBSan.
fuzz="$build clang-14 libclang-rt-14-dev"
valgrind="$test valgrind"
# Benchmarks (mk/bench.mk): the peers it compares against and callgrind.
# bench/deps.sh stops the services these packages may start.
bench="$build python3 valgrind redis-server memcached"
# Cross builds (mk/cross.mk): the compiler and qemu-user for the tests; the
# target's libraries go to a build-local sysroot (tools/sysroot.sh).
cross="make pkg-config python3 qemu-user-static"
# The Debian package (make deb, mk/install.mk): debian/control's
# Build-Depends (with the tests' packages), debhelper, dpkg-buildpackage,
# lintian, and what provides systemd.pc (where the units go): systemd-dev
# from Debian 13 on, systemd before (systemd_pc_package, below).
deb="$test build-essential debhelper dh-python dpkg-dev lintian"
# A root of another Debian release (tools/suite-root.sh).
suite_root="mmdebstrap debian-archive-keyring"
# The VM leg (mk/vm.mk): qemu, the images (mmdebstrap, mkfs.ext4 -d), the
# host harness, dpkg-deb.
vm="$suite_root qemu-system-x86 qemu-utils e2fsprogs python3 dpkg-dev"

# apt's lists, fetched first on a machine that has none yet.
apt_lists() {
	if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1 &&
		command -v apt-get >/dev/null 2>&1; then
		if [ "$(id -u)" -eq 0 ]; then apt-get update -q >&2
		else sudo apt-get update -q >&2; fi
	fi
}

# systemd-dev where the archive has it, else systemd.
systemd_pc_package() {
	apt_lists
	if apt-cache show systemd-dev >/dev/null 2>&1; then
		echo systemd-dev
	else
		echo systemd
	fi
}

# The real pigpio clients the pigpio front-end is tested with
# (tests/integration/test_pigpio.py): Debian 12 and 13 have them (13 lost
# only the daemon, pigpiod); where a release has none, those tests skip.
pigpio_clients() {
	command -v apt-cache >/dev/null 2>&1 || return 0
	apt_lists
	if apt-cache show python3-pigpio >/dev/null 2>&1; then
		echo python3-pigpio pigpio-tools python3-gpiozero
	fi
}

case "${1:-build}" in
build) want=$build ;;
test) want="$test $(pigpio_clients)" ;;
fuzz) want=$fuzz ;;
valgrind) want="$valgrind $(pigpio_clients)" ;;
bench) want="$bench $(pigpio_clients)" ;;
cross-arm64) want="$cross gcc-aarch64-linux-gnu" ;;
cross-armhf) want="$cross gcc-arm-linux-gnueabihf" ;;
deb) want="$deb $(systemd_pc_package)" ;;
suite-root) want=$suite_root ;;
vm) want=$vm ;;
*) echo "usage: $0 build|test|fuzz|valgrind|bench|cross-arm64|cross-armhf|deb|suite-root|vm" >&2; exit 2 ;;
esac

missing=""
if command -v dpkg-query >/dev/null 2>&1; then
	for p in $want; do
		status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
		case "$status" in
		*" installed") ;;
		*) missing="$missing $p" ;;
		esac
	done
else
	for p in libevent_pthreads inih; do
		pkg-config --exists "$p" 2>/dev/null || missing="$missing $p"
	done
fi
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
	echo "picmd: missing packages:$missing (install them, then run make again)" >&2
	exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
	sudo=""
elif command -v sudo >/dev/null 2>&1; then
	sudo="sudo"
else
	echo "picmd: missing packages:$missing (run: apt-get install$missing as root)" >&2
	exit 1
fi
echo "picmd: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
if ! $sudo apt-get install -y -q $missing; then
	# A fresh machine may not have package lists yet.
	$sudo apt-get update -q
	# shellcheck disable=SC2086
	$sudo apt-get install -y -q $missing || {
		echo "picmd: missing packages:$missing (apt-get install failed)" >&2
		exit 1
	}
fi
