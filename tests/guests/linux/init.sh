#!/bin/sh
# /init of the Linux test guest (busybox only). The kernel command line picks what it does:
#
#   uniprof.mode=kallsyms   dump /proc/kallsyms to the second serial port (ttyS1, or the device
#                           uniprof.dump=NAME names; the console when there is none) between
#                           markers, print its line count and md5sum on the console, power off
#   uniprof.perf=SEC        with the workloads running, `perf record -e cpu-clock -g -a` for SEC
#                           seconds (initramfs-perf.cpio.gz: prepare.sh --perf) at
#                           uniprof.perf_hz=HZ (default 1000: perf's own sampling interrupt is
#                           guest time a host-side profiler sees and perf does not), then the
#                           `perf script` output to ttyS1 between markers and
#                           "uniprof-guest: perf done" on the console.  "uniprof-guest: perf
#                           recording" comes 2 s after perf starts, once its start-up (which
#                           reads /proc/kallsyms) is over: sample from the host after it
#   uniprof.work=LIST       otherwise: run these workloads forever (comma-separated, default
#                           "loop"), the i-th pinned to CPU i modulo the CPU count:
#                             loop     busybox sh spinning in `while :; do :; done` (user space)
#                             dd       dd if=/dev/zero of=/dev/null bs=1M (kernel: clear_user)
#                             urandom  dd if=/dev/urandom of=/dev/null bs=64k (kernel: chacha20)
#                             pipe     yes | cat >/dev/null, writer on CPU i, reader on CPU i+1
#                                      (kernel: pipe_write, pipe_read, wake-ups between vCPUs)
#                             getpid   workload getpid: getpid() in a loop (kernel: the system
#                                      call entry and exit alone)
#                             pingpong workload pingpong: one byte back and forth through two
#                                      pipes, one side on CPU i, the other on CPU i+1 (kernel:
#                                      pipe_read/pipe_write, a wake-up and a switch per byte)
#                             module   insmod uniprof_test.ko (x86_64, module/), then
#                                      dd if=/proc/uniprof_test of=/dev/null bs=4k (kernel: the
#                                      module's uniprof_test_read -> _outer -> _inner)
#
# Console lines for the host (each on its own line, in this order):
#   uniprof-guest: _text 0x<addr>       the kernel's runtime _text (KASLR slide = this - System.map's)
#   uniprof-guest: _stext 0x<addr>      the runtime _stext (arm64's kallsyms has no _text)
#   uniprof-guest: clocksource <name>   (tsc with one vCPU; hpet with two, TCG's TSCs are not synced)
#   uniprof-guest: work <name> cpu <n> pid <pid>
#   uniprof-guest: ready
export PATH=/usr/sbin:/usr/bin
# A busybox the host could not run to list its applets (arm64) links them here.
[ -e /usr/bin/mount ] || /usr/bin/busybox --install -s /usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

mode=run work=loop dump=ttyS1
# shellcheck disable=SC2013 # the command line is split into words on purpose
for arg in $(cat /proc/cmdline); do
	case $arg in
	uniprof.mode=*) mode=${arg#uniprof.mode=} ;;
	uniprof.work=*) work=${arg#uniprof.work=} ;;
	uniprof.dump=*) dump=${arg#uniprof.dump=} ;;
	uniprof.perf=*) perf=${arg#uniprof.perf=} ;;
	uniprof.perf_hz=*) perf_hz=${arg#uniprof.perf_hz=} ;;
	esac
done

# Root sees real addresses in /proc/kallsyms only with kptr_restrict 0 (Debian boots with 1).
echo 0 >/proc/sys/kernel/kptr_restrict

if [ "$mode" = kallsyms ]; then
	cat /proc/kallsyms >/tmp/kallsyms
	out=/dev/$dump
	# No such port (arm64's virt machine has one PL011; its ttyS1 node answers EIO): the console.
	{ [ -c $out ] && stty -F $out raw -echo 2>/dev/null; } || out=/dev/console
	stty -F $out raw -echo 2>/dev/null
	{
		echo "=== BEGIN kallsyms ==="
		cat /tmp/kallsyms
		echo "=== END kallsyms ==="
	} >$out
	echo "uniprof-guest: kallsyms lines $(wc -l </tmp/kallsyms) md5 $(md5sum </tmp/kallsyms | cut -d' ' -f1)"
	echo "uniprof-guest: kallsyms done"
	sync
	poweroff -f
fi

echo "uniprof-guest: _text 0x$(grep -m1 ' _text$' /proc/kallsyms | cut -d' ' -f1)"
echo "uniprof-guest: _stext 0x$(grep -m1 ' _stext$' /proc/kallsyms | cut -d' ' -f1)"
echo "uniprof-guest: clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
ncpu=$(nproc)
i=0
for w in $(echo "$work" | tr ',' ' '); do
	cpu=$((i % ncpu))
	case $w in
	loop) taskset -c $cpu sh -c 'while :; do :; done' & ;;
	dd) taskset -c $cpu dd if=/dev/zero of=/dev/null bs=1M 2>/dev/null & ;;
	urandom) taskset -c $cpu dd if=/dev/urandom of=/dev/null bs=64k 2>/dev/null & ;;
	pipe) sh -c "taskset -c $cpu yes | taskset -c $(((cpu + 1) % ncpu)) cat >/dev/null" & ;;
	getpid) taskset -c $cpu workload getpid & ;;
	pingpong) workload pingpong $cpu $(((cpu + 1) % ncpu)) & ;;
	module)
		insmod /usr/lib/modules/uniprof_test.ko || { echo "uniprof-guest: insmod failed"; poweroff -f; }
		taskset -c $cpu dd if=/proc/uniprof_test of=/dev/null bs=4k 2>/dev/null &
		;;
	*) echo "uniprof-guest: unknown workload $w"; poweroff -f ;;
	esac
	echo "uniprof-guest: work $w cpu $cpu pid $!"
	i=$((i + 1))
done
echo "uniprof-guest: ready"
if [ -n "${perf:-}" ]; then
	perf record -q -e cpu-clock -F "${perf_hz:-1000}" -g -a -o /tmp/perf.data -- sleep "$perf" >/dev/null 2>&1 &
	sleep 2
	echo "uniprof-guest: perf recording"
	wait $!
	stty -F /dev/ttyS1 raw -echo 2>/dev/null
	{
		echo "=== BEGIN perf ==="
		PAGER=cat perf --no-pager script -i /tmp/perf.data -F comm,ip,sym 2>/dev/null
		echo "=== END perf ==="
	} >/dev/ttyS1
	echo "uniprof-guest: perf done"
fi
# PID 1 must not exit; it sleeps in wait() while the workloads run.
wait
while :; do sleep 3600; done
