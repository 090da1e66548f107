#!/bin/sh
# Run each cmocka test binary; report and fail if any fails.
failed=0
for t in "$@"; do
	if ! "$t"; then
		echo "FAILED: $t" >&2
		failed=1
	fi
done
exit $failed
