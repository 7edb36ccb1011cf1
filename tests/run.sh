#!/bin/sh
# Run every test tier: cmocka unit tests, then the integration tests under QEMU TCG.
# Prints one "N passed, N failed" line at the end; exits non-zero when anything failed.
#   tests/run.sh              everything
#   tests/run.sh unit         unit tests only
#   tests/run.sh integration [FILE...]   integration tests only
# UNIT_WRAPPER: a command each unit test binary runs under, e.g.
#   UNIT_WRAPPER="valgrind -q --leak-check=full --error-exitcode=1" tests/run.sh unit
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
what=${1:-all}
[ $# -gt 0 ] && shift

passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

count() {
	# cmocka's summary: "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s), listed below:"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
}

if [ "$what" = all ] || [ "$what" = unit ]; then
	n=0
	for t in tests/unit/test_*.c; do
		bin="$BUILD/tests/$(basename "$t" .c)"
		n=$((n + 1))
		if [ ! -x "$bin" ]; then
			echo "missing unit test binary $bin (run make unit)"
			failed=$((failed + 1))
			continue
		fi
		${UNIT_WRAPPER:-} "$bin" >"$log" 2>&1
		rc=$?
		cat "$log"
		count
		# A crash, an exit without a summary or the wrapper's complaint is a failure too.
		if [ $rc -ne 0 ] && ! grep -q '^\[  FAILED  \]' "$log"; then
			echo "$bin exited with status $rc${UNIT_WRAPPER:+ under $UNIT_WRAPPER}"
			failed=$((failed + 1))
		fi
	done
fi

if [ "$what" = all ] || [ "$what" = integration ]; then
	python3 tests/integration/run.py "$@" 2>&1 | tee "$log"
	p=$(sed -n 's/^integration: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped/\1/p' "$log")
	f=$(sed -n 's/^integration: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped/\2/p' "$log")
	s=$(sed -n 's/^integration: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped/\3/p' "$log")
	if [ -z "$p" ]; then
		echo "integration tests did not finish"
		failed=$((failed + 1))
	else
		passed=$((passed + p))
		failed=$((failed + f + s))
	fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
