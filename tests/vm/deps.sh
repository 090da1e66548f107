#!/bin/sh
# Install what the VM leg needs on the build machine, when it is missing:
# qemu-system-x86_64, mmdebstrap and the archive keys (the images),
# e2fsprogs (mkfs.ext4 -d), python3 (the host harness).
# Uses apt-get (through sudo when not root), like tools/deps.sh.
set -eu

want="qemu-system-x86 qemu-utils mmdebstrap debian-archive-keyring e2fsprogs python3 dpkg-dev"

missing=""
for p in $want; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
	echo "picmd-vm: missing packages:$missing (install them, then run make test-vm again)" >&2
	exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
	sudo=""
elif command -v sudo >/dev/null 2>&1; then
	sudo="sudo"
else
	echo "picmd-vm: missing packages:$missing (run: apt-get install$missing as root)" >&2
	exit 1
fi
echo "picmd-vm: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
if ! $sudo apt-get install -y -q --no-install-recommends $missing; then
	$sudo apt-get update -q
	# shellcheck disable=SC2086
	$sudo apt-get install -y -q --no-install-recommends $missing || {
		echo "picmd-vm: missing packages:$missing (apt-get install failed)" >&2
		exit 1
	}
fi
