#!/bin/sh
# Run one libFuzzer harness.
# usage: tests/fuzz/run.sh BUILD NAME SECONDS
#   BUILD/fuzz_NAME is the harness; tests/fuzz/corpus/NAME/ the seed
#   corpus (with every crash input ever found, kept as regression seeds).
#   SECONDS 0: run the seed corpus once and stop (the regression check);
#   otherwise fuzz for that long, keeping new inputs in BUILD/corpus/NAME/.
# Fails (exit 1) on a crash, a leak, a timeout or a failed check, and says
# where the input that caused it is.
set -u

build=$1 name=$2 seconds=$3
bin=$build/fuzz_$name
seeds=tests/fuzz/corpus/$name
work=$build/corpus/$name
crashes=$build/crashes
log=$build/fuzz_$name.log

mkdir -p "$work" "$crashes"
if [ "$seconds" -eq 0 ]; then
	what="seed corpus"
	set -- -runs=0 "$seeds"
else
	what="$seconds s"
	set -- -max_total_time="$seconds" "$work" "$seeds"
fi

dict=tests/fuzz/$name.dict
[ -f "$dict" ] && set -- -dict="$dict" "$@"

# stdin from /dev/null: a harness must never wait for a terminal.
"$bin" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$crashes/$name-" "$@" </dev/null >"$log" 2>&1
rc=$?

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -n 's/.*cov: \([0-9]*\).*ft: \([0-9]*\).*corp: \([0-9/a-zA-Z]*\).*/cov \1, ft \2, corpus \3/p')
if [ $rc -ne 0 ]; then
	tail -n 60 "$log" >&2
	echo "FAIL - fuzz_$name ($what): exit $rc; full log: $log" >&2
	found=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
	if [ -n "$found" ]; then
		echo "  input: $found" >&2
		echo "  reproduce: $bin $found" >&2
		echo "  after the fix, keep it: cp $found $seeds/crash-<what>" >&2
	fi
	exit 1
fi
if [ "$seconds" -eq 0 ]; then
	echo "ok - fuzz_$name ($what): ${execs:-?} inputs${cov:+, $cov}"
else
	echo "ok - fuzz_$name ($what): ${execs:-?} runs, ${rate:-?}/s${cov:+, $cov}"
fi
