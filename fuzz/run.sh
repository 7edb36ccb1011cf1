#!/bin/sh
# Run every libFuzzer harness over its corpus (make fuzz-run, make fuzz-long).
#   fuzz/run.sh BUILD runs N HARNESS:MAX_LEN...      N inputs each (-runs)
#   fuzz/run.sh BUILD seconds S HARNESS:MAX_LEN...   S seconds each (-max_total_time)
# Prints one line per harness: how many inputs ran clean, or where it failed (the crashing
# input is saved as BUILD/fuzz/HARNESS-crash-*).  Every harness runs even when one fails;
# the exit status is 1 if any failed.
set -u
build=$1 mode=$2 amount=$3
shift 3
case $mode in
runs) limit="-runs=$amount" ;;
seconds) limit="-max_total_time=$amount" ;;
*) echo "fuzz/run.sh: mode is runs or seconds, not $mode" >&2; exit 2 ;;
esac
status=0
for spec in "$@"; do
	f=${spec%%:*} max=${spec#*:}
	corpus=$build/fuzz/corpus/$f log=$build/fuzz/$f.log
	mkdir -p "$corpus"
	start=$(date +%s) cpu=$build/fuzz/$f.cpu
	# In seconds mode, with /usr/bin/time, the harness gets $amount seconds of CPU (user +
	# system), not of wall clock: on a busy machine it is run again, from the corpus it grew,
	# until it had them.  The inputs of every run are summed.
	timer= cpus=0 runs=0 left=$amount
	[ -x /usr/bin/time ] && timer="/usr/bin/time -f %U+%S -o $cpu"
	while :; do
		[ "$mode" = seconds ] && limit="-max_total_time=$left"
		$timer "$build/fuzz/$f" "$limit" -max_len="$max" -print_final_stats=1 \
			-artifact_prefix="$build/fuzz/$f-" "$corpus" >"$log" 2>&1
		rc=$?
		n=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
		runs=$((runs + ${n:-0}))
		[ -n "$timer" ] && cpus=$(tail -n 1 "$cpu" | awk -F+ -v c="$cpus" '{ printf "%d", c + $1 + $2 }')
		[ $rc -ne 0 ] || [ "$mode" != seconds ] || [ -z "$timer" ] && break
		left=$((amount - cpus))
		[ $left -lt 10 ] && break
	done
	secs=$(($(date +%s) - start))
	cpus=${timer:+, $cpus CPU-s}
	if [ $rc -eq 0 ]; then
		echo "fuzz: $f: $runs inputs ran clean in $secs s$cpus (corpus: $(ls "$corpus" | wc -l) inputs)"
	else
		# No final stats after a crash: libFuzzer's last progress line counts the inputs run.
		last=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$log" | tail -n 1)
		echo "fuzz: $f: FAILED after about ${last:-0} inputs in $secs s$cpus ($log):"
		tail -n 30 "$log"
		status=1
	fi
done
exit $status
