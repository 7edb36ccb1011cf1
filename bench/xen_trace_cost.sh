#!/bin/bash
# Time per stack trace: `uniprof -d` against `xenctx -f -s`, on our 2-vCPU PV test guest, in the
# same dom0 boot of Xen nested in QEMU TCG.  Also times the Xen calls of one sample one by one
# (bench/xen_call_cost.c) and prints uniprof's own per-stage timings (-vv).  A benchmark: it
# prints figures and asserts nothing.  Takes ~2 minutes.
#
#   bench/xen_trace_cost.sh [--out DIR] [--arm64] [boot.sh options...]
#
# --arm64: the same in Xen on Arm nested in qemu-system-aarch64 (tests/xen-arm64), on our arm64
# guest as a 2-vCPU domU, with uniprof cross-built for arm64.  xenctx on Arm prints registers and
# no stack, so its figure there is the cost of one process per trace.
#
# Xen gets one pCPU unless you pass --smp N: with two, on this 2-core machine shared with other
# QEMUs, a pause waits for the other pCPU's QEMU thread to be scheduled by the host and the
# figures measure the host's load (2-40 ms pauses); with --smp 2 the run also repeats with dom0
# and the guest pinned to separate pCPUs.
#
# A "trace" is one vCPU's stack: xenctx prints one per process run; uniprof walks every vCPU in
# each pause.  uniprof's cost per trace is given two ways: its median pause divided by the
# stacks it walked per pause (the guest-visible cost; a vCPU that has not run since the previous
# sample is neither read nor walked), and its wall time divided by the traces it took
# (everything, process start-up and sleeps between samples excluded only at -F high enough).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out='' args=(--smp 1) arm64=0
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2; shift 2 ;;
	--arm64) arm64=1; shift ;;
	-h|--help) sed -n '2,24s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) args+=("$1"); shift ;;
	esac
done
rc=0
if [ $arm64 -eq 1 ]; then
	out=${out:-$repo/build/xen-bench-arm64}
	mkdir -p "$out"
	make -s -C "$repo" cross-arm64
	# The same program instrumented to time each stage of a sample (clock reads cost system calls).
	make -s -C "$repo" BUILD=build/xentiming XEN_TIMING=1 cross-arm64
	"$repo/tests/xen-arm64/run-uniprof.sh" --out "$out" --bench \
		--add "$repo/build/xentiming/arm64/uniprof:/usr/bin/uniprof-timing" "${args[@]}" \
		>"$out/run.log" 2>&1 || rc=$?
else
	out=${out:-$repo/build/xen-bench}
	mkdir -p "$out"
	make -s -C "$repo" build/uniprof
	make -s -C "$repo" BUILD=build/xentiming XEN_TIMING=1 build/xentiming/uniprof
	cc -O2 -g -Wall -o "$out/xen_call_cost" "$repo/bench/xen_call_cost.c" \
		$(pkg-config --cflags --libs xencontrol xenforeignmemory xencall)
	"$repo/tests/xen/run-uniprof.sh" --out "$out" --no-linux --bench \
		--add "$out/xen_call_cost:/usr/bin/xen_call_cost" \
		--add "$repo/build/xentiming/uniprof:/usr/bin/uniprof-timing" "${args[@]}" >"$out/run.log" 2>&1 || rc=$?
fi
[ $rc -eq 0 ] || { tail -n 20 "$out/run.log"; echo "xen_trace_cost: the nested run failed ($rc)" >&2; exit 1; }
python3 - "$out/sections" <<'PY'
import os, re, statistics, sys

d = sys.argv[1]
def read(name):
    p = os.path.join(d, name + ".txt")
    return open(p).read() if os.path.exists(p) else ""

for label, what in (("shared", "PV guest, no pinning: dom0 and the guest's 2 vCPUs share Xen's pCPUs"),
                    ("pinned", "PV guest, dom0 pinned to pCPU 0, the guest's vCPUs to pCPU 1"),
                    ("pvh", "PVH guest (tests/guests/x86_64), 2 vCPUs, no pinning"),
                    ("arm64", "Xen on Arm: arm64 guest (tests/guests/arm64), 2 vCPUs, one pCPU")):
    x = read("bench-%s-xenctx" % label)
    runs = [int(m) for m in re.findall(r"xenctx_ms (\d+)", x)]
    if not runs:
        continue
    print("==== %s: %s ====" % (label, what))
    xenctx_ms = statistics.median(runs)
    print("xenctx -f -s: median %.0f ms per trace (%d runs, min %d, max %d; /proc/uptime has 10 ms steps)"
          % (xenctx_ms, len(runs), min(runs), max(runs)))
    calls = read("bench-%s-calls" % label).rstrip()
    if calls:
        print("-- Xen calls one by one, mean of a batch (xen_call_cost) --")
        print(calls)
    t = read("bench-%s-timing" % label)
    if t:
        print("-- where a sample's time goes (make XEN_TIMING=1 build, -F 100 -n 300 -vv) --")
        for line in t.splitlines():
            if "per sample" in line or "median pause" in line:
                print("  " + line.replace("uniprof: ", ""))
    print("-- per trace.  'held': from before xc_domain_pause to the unpause request, the time the")
    print("   guest is stopped; 'pause': until xc_domain_unpause returns, which adds dom0 waiting")
    print("   for its pCPU back while the guest already runs (with one pCPU, most of it) --")
    for hz in (100, 1000):
        err = read("bench-%s-uniprof-%d.err" % (label, hz))
        m = re.search(r"(\d+) samples in ([\d.]+) s, (\d+) stacks.*median pause (\d+) us", err)
        h = re.search(r"from pause to the resume request: median (\d+) us", err)
        if not m or not h:
            print("uniprof -F %d: no summary line" % hz)
            continue
        samples, stacks, pause, held = int(m.group(1)), int(m.group(3)), int(m.group(4)), int(h.group(1))
        # Stale vCPUs (not run since the previous sample) are neither read nor walked: a pause
        # costs what the stacks it did walk cost.
        per_pause = stacks / max(samples, 1)
        wall = int(read("bench-%s-uniprof-%d.wall_ms" % (label, hz)).strip() or 0)
        print("uniprof -F %4d: %d samples, %.2f stacks walked per pause; whole process %d ms = %.0f us "
              "per trace (incl. start-up and sleeps)" % (hz, samples, per_pause, wall,
                                                        wall * 1000.0 / max(stacks, 1)))
        for what, us in (("held", held), ("pause", pause)):
            per_trace = us / max(per_pause, 1e-9)
            print("    median %-5s %5d us = %4.0f us per trace -> %5.0fx faster than xenctx"
                  % (what, us, per_trace, xenctx_ms * 1000 / per_trace))
PY
