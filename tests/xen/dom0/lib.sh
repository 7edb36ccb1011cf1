# Shell functions for dom0 test scripts (busybox sh): mkdom0.sh puts this file at
# /test/lib.sh, and a test script sources it with `. /test/lib.sh`.

# Output between these markers becomes a section file on the host (extract.py).
section() { echo "=== BEGIN $1 ==="; }
end() { echo "=== END $1 ==="; }

uptime_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

# Wait up to $2 seconds for the console log of domain $1 to contain $3.
wait_console() {
	i=0
	while [ $i -lt "$2" ]; do
		grep -q "$3" "/var/log/xen/console/guest-$1.log" 2>/dev/null && return 0
		sleep 1
		i=$((i + 1))
	done
	return 1
}

# run NAME ARGS...: run uniprof ARGS with its profile, stderr and exit status in sections
# NAME.folded, NAME.err, NAME.rc.
run() {
	name=$1
	shift
	uniprof "$@" >/tmp/$name.folded 2>/tmp/$name.err
	echo $? >/tmp/$name.rc
	for s in folded err rc; do
		section "$name.$s"
		cat "/tmp/$name.$s"
		end "$name.$s"
	done
}

# State column of `xl list` for domain $1 ("r-----", "-b----", "--p---" ...).
xl_state() { xl list "$1" 2>/dev/null | awk 'NR == 2 { print $5 }'; }
