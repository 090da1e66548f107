#!/bin/sh
# Run each cmocka test binary; report and fail if any fails.
# PICMD_TEST_EMULATOR (e.g. "qemu-aarch64-static -L SYSROOT", set by make
# ARCH=...) is prefixed to each.
failed=0
for t in "$@"; do
	# shellcheck disable=SC2086
	if ! ${PICMD_TEST_EMULATOR:-} "$t"; then
		echo "FAILED: $t" >&2
		failed=1
	fi
done
exit $failed
