#!/bin/sh
# The Debian archive this machine installs from, for the tools that fetch
# packages of another release (tools/suite-root.sh, tools/sysroot.sh):
# PICMD_MIRROR when set, else the first Debian archive named (and not
# commented out) in the machine's apt sources, else deb.debian.org.
# Prints the URL without a trailing slash.
set -eu
mirror=${PICMD_MIRROR:-}
if [ -z "$mirror" ]; then
	mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		/etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -v '^[[:space:]]*#' |
		grep -o 'https\?://[^ ]*/debian/\?\([[:space:]]\|$\)' |
		head -n 1 | tr -d '[:space:]' || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}
echo "${mirror%/}"
