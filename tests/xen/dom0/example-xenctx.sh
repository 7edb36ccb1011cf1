#!/bin/sh
# Example dom0 test (busybox sh), run as /test/run.sh by dom0's init. It expects under /guests:
#   xen-pv.elf, xen-pv.syms     the uniprof Xen PV test guest and its `nm -n` symbols
#   linux/vmlinuz, linux/initrd.cpio.gz     a Linux PV domU (optional)
# It creates a 2-vCPU domain from xen-pv.elf, prints `xl list`, samples each vCPU with
# `xenctx -f -s xen-pv.syms` (sections xenctx-pv-vV-I, checked on the host by check-xenctx.py),
# times XENCTX_RUNS xenctx calls, then does the same for a Linux PV domU.
#
# Debian ships only a placeholder System.map, so the Linux domU is symbolized with dom0's own
# /proc/kallsyms: both run the same vmlinuz, and a PV kernel is loaded at its link address (no
# KASLR), so the addresses agree.

G=/guests
SAMPLES=${SAMPLES:-8}
XENCTX_RUNS=${XENCTX_RUNS:-20}
rc=0

. /test/lib.sh

section xl-create-pv
create_pv_guest || rc=1
end xl-create-pv
domid=$(xl domid uniprof-pv)
sleep 1

section xl-list-pv
xl list
xl vcpu-list uniprof-pv
end xl-list-pv
# vCPU0 prints "units=N" every 128 units: estimate how long one unit takes (± one line).
last_units() { grep -o 'units=[0-9]*' /var/log/xen/console/guest-uniprof-pv.log | tail -n 1 | cut -d= -f2; }
section unit-timing
wait_console uniprof-pv 20 "units=" || true
u0=$(last_units) t0=$(uptime_ms)
sleep 6
u1=$(last_units) t1=$(uptime_ms)
if [ -n "$u0" ] && [ -n "$u1" ] && [ "$u1" -gt "$u0" ]; then
	echo "vcpu0_units $((u1 - u0)) in_ms $((t1 - t0)) unit_us $(((t1 - t0) * 1000 / (u1 - u0)))"
else
	echo "no progress lines from vcpu0 (units: '$u0' -> '$u1')"
	rc=1
fi
end unit-timing
section console-pv
head -n 5 /var/log/xen/console/guest-uniprof-pv.log
end console-pv

s=1
while [ $s -le "$SAMPLES" ]; do
	for v in 0 1; do
		section "xenctx-pv-v$v-$s"
		xenctx -f -s "$G/xen-pv.syms" "$domid" "$v" 2>&1 || rc=1
		end "xenctx-pv-v$v-$s"
	done
	s=$((s + 1))
	sleep 0.3
done

section xenctx-timing
t0=$(uptime_ms)
i=0
while [ $i -lt "$XENCTX_RUNS" ]; do
	xenctx -f -s "$G/xen-pv.syms" "$domid" $((i % 2)) >/dev/null 2>&1 || rc=1
	i=$((i + 1))
done
t1=$(uptime_ms)
echo "xenctx_runs $XENCTX_RUNS total_ms $((t1 - t0)) per_run_ms $(((t1 - t0) / XENCTX_RUNS))"
end xenctx-timing
# The PV guest's two spinning vCPUs would slow the Linux boot below to a crawl.
xl destroy uniprof-pv

if [ -f "$G/linux/vmlinuz" ]; then
	section xl-create-linux
	create_linux_domu || rc=1
	end xl-create-linux
	ldomid=$(xl domid uniprof-linux)
	section xl-list-linux
	xl list
	xl list | grep -q '^uniprof-linux ' || rc=1
	end xl-list-linux
	# Text symbols of the core kernel only, sorted (xenctx inserts into a list: sorted is linear).
	grep -v '\[' /proc/kallsyms | awk '$2 == "t" || $2 == "T"' | sort >/tmp/linux.syms
	section console-linux
	tail -n 20 /var/log/xen/console/guest-uniprof-linux.log
	end console-linux
	s=1
	while [ $s -le 6 ]; do
		section "xenctx-linux-$s"
		xenctx -s /tmp/linux.syms "$ldomid" 0 >/tmp/xenctx.out 2>&1 || rc=1
		cat /tmp/xenctx.out
		grep -q '^rip: ' /tmp/xenctx.out || rc=1
		end "xenctx-linux-$s"
		s=$((s + 1))
		sleep 0.3
	done
	xl destroy uniprof-linux
fi
exit $rc
