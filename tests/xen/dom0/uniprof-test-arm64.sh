#!/bin/sh
# dom0 test of `uniprof -d` on Xen on Arm (busybox sh), run as /test/run.sh by the arm64 dom0's
# init (tests/xen-arm64/).  Expects:
#   /usr/bin/uniprof                          the arm64 build under test (make cross-arm64)
#   /guests/arm64.img, /guests/arm64.elf      our arm64 test guest built as a domU (XEN=1):
#                                             the Image xl loads, and its symbols
#   /test/lib.sh                              tests/xen/dom0/lib.sh
#   /guests/arm64-nofp.img, /guests/arm64-nofp.elf   the same guest built without frame
#                                             pointers (NOFP=1; optional)
#   /test/bench, /guests/arm64.syms           only when benchmarking: the flag, `nm -n` symbols
#   /guests/linux-arm64.{img,cpio.gz,kallsyms} Debian's arm64 Linux, its initramfs
#                                             (tests/guests/linux) and kallsyms (optional)
# Prints sections that tests/integration/test_xen_arm64.py checks on the host: arm64.folded,
# arm64.err, arm64.rc (-d by name, -F 200 -t 12 --per-vcpu -v), dump-N.* (--dump, N = 1..3:
# NAME.folded holds the backtraces), xl-list-before, arm64-state-after, gone.* (a domain
# destroyed mid-run).
# arm64.err, arm64.rc (-d by name, -F 200 -t 12 --per-vcpu -v), xl-list-before, arm64-state-after,
# gone.* (a domain destroyed mid-run), arm64-nofp-cfi.* and arm64-nofp-fp.* (--unwind cfi and
# fp on the guest without frame pointers), arm64-nofp-state-after, linux-arm64.* (Debian's
# Linux domU from its kallsyms, -F 100 -t 5 -v) and linux-arm64-state-after.

G=/guests
F=${UNIPROF_HZ:-200}
T=${UNIPROF_SECONDS:-12}

. /test/lib.sh

cat >/tmp/uniprof-arm64.cfg <<CFG
name = "uniprof-arm64"
type = "pvh"
kernel = "$G/arm64.img"
memory = 64
vcpus = 2
vuart = "sbsa_uart"
on_crash = "preserve"
CFG

section xl-create-arm64
xl create /tmp/uniprof-arm64.cfg 2>&1
end xl-create-arm64
# Both vCPUs are in their workloads well within this (CPU 1 is up in milliseconds).
sleep 5
section xl-list-before
xl list
xl vcpu-list
end xl-list-before

run arm64 -d uniprof-arm64 -k "$G/arm64.elf" -F "$F" -t "$T" --per-vcpu -v
# One pause, every vCPU's backtrace, a few times: the vCPUs are caught along their chains.
for i in 1 2 3; do
	run dump-$i --dump -d uniprof-arm64 -k "$G/arm64.elf" -v
done
section arm64-state-after
xl_state uniprof-arm64
end arm64-state-after

# With /test/bench: xenctx and uniprof per trace (bench/xen_trace_cost.sh --arm64).  On Arm,
# xenctx prints the registers but no stack: its cost is still that of one process per trace.
if [ -f /test/bench ]; then
	bench_round arm64 "$(xl domid uniprof-arm64)" "$G/arm64.syms"
fi

# Destroyed while sampled: the profile so far is written, the exit status says so.
run_destroyed gone uniprof-arm64 -d uniprof-arm64 -k "$G/arm64.elf" -F "$F" -t 30 --per-vcpu
section xl-list-after-gone
xl list
end xl-list-after-gone

# Without frame pointers: complete stacks through the guest's unwind tables, which need every
# general register of the vCPU context; frame pointers give truncated ones, said so.
if [ -f "$G/arm64-nofp.img" ]; then
	sed -e 's/uniprof-arm64/uniprof-arm64-nofp/' -e 's/arm64.img/arm64-nofp.img/' \
		/tmp/uniprof-arm64.cfg >/tmp/uniprof-arm64-nofp.cfg
	section xl-create-arm64-nofp
	xl create /tmp/uniprof-arm64-nofp.cfg 2>&1
	end xl-create-arm64-nofp
	sleep 5
	run arm64-nofp-cfi -d uniprof-arm64-nofp -k "$G/arm64-nofp.elf" -F "$F" -t "$T" \
		--per-vcpu -v --unwind cfi
	run arm64-nofp-fp -d uniprof-arm64-nofp -k "$G/arm64-nofp.elf" -F "$F" -t 3 --per-vcpu -v
	section arm64-nofp-state-after
	xl_state uniprof-arm64-nofp
	end arm64-nofp-state-after
	xl destroy uniprof-arm64-nofp
fi

# Debian's arm64 Linux as a PVH domU (workload dd), named from its kallsyms alone: the leaf
# rules read the code they need from the domU's memory.
if [ -f "$G/linux-arm64.img" ]; then
	cat >/tmp/linux-arm64.cfg <<CFG
name = "linux-arm64"
type = "pvh"
kernel = "$G/linux-arm64.img"
ramdisk = "$G/linux-arm64.cpio.gz"
extra = "console=hvc0 loglevel=4 uniprof.work=dd"
memory = 192
vcpus = 1
on_crash = "preserve"
CFG
	section xl-create-linux-arm64
	xl create /tmp/linux-arm64.cfg 2>&1
	wait_console linux-arm64 120 "uniprof-guest: ready" && echo "linux-arm64 ready" ||
		echo "linux-arm64 not ready"
	end xl-create-linux-arm64
	run linux-arm64 -d linux-arm64 -k "$G/linux-arm64.kallsyms" -F 100 -t 5 -v
	section linux-arm64-state-after
	xl_state linux-arm64
	end linux-arm64-state-after
	xl destroy linux-arm64
fi
