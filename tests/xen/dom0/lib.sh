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

# create_pv_guest: xl create our 2-vCPU Xen PV test guest (/guests/xen-pv.elf) as uniprof-pv
# and wait up to 30 s for its second vCPU to report; returns xl create's status.
create_pv_guest() {
	local rc=0
	cat >/tmp/uniprof-pv.cfg <<CFG
name = "uniprof-pv"
type = "pv"
kernel = "/guests/xen-pv.elf"
memory = 16
vcpus = 2
on_crash = "preserve"
CFG
	xl create /tmp/uniprof-pv.cfg 2>&1 || rc=1
	wait_console uniprof-pv 30 "vcpu1 running" || echo "uniprof-pv: no 'vcpu1 running' on its console"
	return $rc
}

# create_linux_domu: xl create the Linux PV domU (/guests/linux/) as uniprof-linux and wait up
# to 180 s for its shell loop, saying how long that took; non-zero when either failed.
create_linux_domu() {
	local t0 rc=0
	cat >/tmp/uniprof-linux.cfg <<CFG
name = "uniprof-linux"
type = "pv"
kernel = "/guests/linux/vmlinuz"
ramdisk = "/guests/linux/initrd.cpio.gz"
extra = "console=hvc0 loglevel=4"
memory = 128
vcpus = 1
on_crash = "preserve"
CFG
	t0=$(uptime_ms)
	xl create /tmp/uniprof-linux.cfg 2>&1 || rc=1
	if wait_console uniprof-linux 180 "linux-domu: spinning"; then
		echo "linux domU reached its shell loop $(( ($(uptime_ms) - t0) / 1000 )) s after xl create"
	else
		echo "linux domU did not reach its shell loop"
		rc=1
	fi
	return $rc
}

# Sections NAME.folded, NAME.err, NAME.rc of a run's files in /tmp.
run_sections() {
	for s in folded err rc; do
		section "$1.$s"
		cat "/tmp/$1.$s"
		end "$1.$s"
	done
}

# run NAME ARGS...: run uniprof ARGS with its profile, stderr and exit status in sections
# NAME.folded, NAME.err, NAME.rc.
run() {
	name=$1
	shift
	uniprof "$@" >/tmp/$name.folded 2>/tmp/$name.err
	echo $? >/tmp/$name.rc
	run_sections "$name"
}

# run_destroyed NAME DOMAIN ARGS...: as run, with -v, and DOMAIN destroyed 2 s into sampling.
# Sampling starts after the slide search, whose -v line says so; however long the start-up
# takes (a sanitizer build under nested TCG is slow), the run has 2 s of samples to write.
run_destroyed() {
	name=$1
	dom=$2
	shift 2
	uniprof -v "$@" >/tmp/$name.folded 2>/tmp/$name.err &
	pid=$!
	i=0
	while [ $i -lt 600 ] && kill -0 $pid 2>/dev/null && ! grep -q ": slide " /tmp/$name.err; do
		sleep 0.1
		i=$((i + 1))
	done
	sleep 2
	xl destroy "$dom"
	wait $pid
	echo $? >/tmp/$name.rc
	run_sections "$name"
}

# State column of `xl list` for domain $1 ("r-----", "-b----", "--p---" ...).
xl_state() { xl list "$1" 2>/dev/null | awk 'NR == 2 { print $5 }'; }

# bench_round LABEL DOMID SYMS: per trace, xenctx -f -s (one process, one vCPU's trace) against
# uniprof's pauses on one domain, then the Xen calls one by one (xen_call_cost) and the
# instrumented build's per-stage times (uniprof-timing) where those are in the image; in
# sections bench-LABEL-* (read by bench/xen_trace_cost.sh).
bench_round() {
	local l=$1 domid=$2 syms=$3
	RUNS=${XENCTX_RUNS:-20}
	section "bench-$l-xenctx"
	t0=$(uptime_ms)
	i=0
	while [ $i -lt "$RUNS" ]; do
		a=$(uptime_ms)
		xenctx -f -s "$syms" "$domid" $((i % 2)) >/dev/null 2>&1
		echo "xenctx_ms $(($(uptime_ms) - a))"
		i=$((i + 1))
	done
	echo "runs $RUNS total_ms $(($(uptime_ms) - t0))"
	end "bench-$l-xenctx"
	if command -v xen_call_cost >/dev/null; then
		section "bench-$l-calls"
		xen_call_cost "$domid" 100 2>&1
		end "bench-$l-calls"
	fi
	for hz in 100 1000; do
		t0=$(uptime_ms)
		run "bench-$l-uniprof-$hz" -d "$domid" -F "$hz" -n 500 --per-vcpu -vv
		section "bench-$l-uniprof-$hz.wall_ms"
		echo $(($(uptime_ms) - t0))
		end "bench-$l-uniprof-$hz.wall_ms"
	done
	# The instrumented build (make XEN_TIMING=1): where the time of a sample goes.
	if command -v uniprof-timing >/dev/null; then
		uniprof-timing -d "$domid" -F 100 -n 300 --per-vcpu -vv >/dev/null 2>/tmp/timing.err
		section "bench-$l-timing"
		cat /tmp/timing.err
		end "bench-$l-timing"
	fi
}
